"""stablelora.attach on a PEFT-wrapped tiny LLaMA built from a config (offline) vs Algorithm 1."""

import warnings

import pytest
import torch
from test_stablelora_reference import lockstep

from stablelora import attach, attachment, find_lora_pairs, stop_steps

transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # transformers deprecations


def tiny_llama(seed=0, **lora_kwargs):
    """A 2-layer LLaMA with hidden size 32 and PEFT LoRA (r = 4) on q, k, v, o, up, down."""
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32,
    )
    model = transformers.LlamaForCausalLM(config)
    lora = peft.LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0,
        target_modules=lora_kwargs.pop("target_modules", ["q_proj", "k_proj", "v_proj",
                                                          "o_proj", "up_proj", "down_proj"]),
        **lora_kwargs,
    )
    return peft.get_peft_model(model, lora)


def reference_pairs(model):
    """(A, B, n, m) read off PEFT's layers directly, independently of find_lora_pairs."""
    return [
        (mod.lora_A["default"].weight, mod.lora_B["default"].weight, mod.in_features,
         mod.out_features)
        for _, mod in model.named_modules()
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {})
    ]


tokens = torch.randint(0, 64, (4, 16), generator=torch.Generator().manual_seed(2))


def lm_loss(model, t):
    return model(input_ids=tokens, labels=tokens).loss


OPTIMIZERS = {
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01),
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.5, momentum=0.9),
}


@pytest.mark.parametrize("stop_condition", [True, False])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_peft_model_matches_plain_algorithm1(optimizer, stop_condition):
    ref, ours = tiny_llama(), tiny_llama()
    make = OPTIMIZERS[optimizer]
    trainable = [p for p in ours.parameters() if p.requires_grad]
    opt = attach(make(trainable), ours, shrink=0.05, stop_condition=stop_condition)
    names = attachment(opt).names
    assert len(names) == 12 and names[0].endswith("q_proj[default]")
    ref_pairs = reference_pairs(ref)
    stops = lockstep(ref, make([p for p in ref.parameters() if p.requires_grad]), ref_pairs,
                     ours, opt, lm_loss, 120, 0.05, stop_condition)
    assert list(stop_steps(opt).values()) == stops
    if stop_condition:  # shrinking happened (B₀ = 0 in PEFT's init) and then stopped
        assert all(s is not None and s > 2 for s in stops)


def test_embedding_lora_and_dora_magnitudes_are_left_alone_with_one_warning():
    model = tiny_llama(target_modules=["q_proj", "v_proj", "embed_tokens"], use_dora=True)
    pairs, unpaired = find_lora_pairs(model)
    assert len(pairs) == 4  # q and v in two layers; their DoRA A, B are still pairs
    names = [n for n, _ in unpaired]
    assert any("lora_embedding_A" in n for n in names)
    assert any("lora_magnitude_vector" in n for n in names)
    magnitude = next(p for n, p in unpaired if "lora_magnitude_vector" in n)
    trainable = [p for p in model.parameters() if p.requires_grad]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = attach(torch.optim.AdamW(trainable, lr=1e-2), model, shrink=0.05)
    ours = [w for w in caught if "Stable-LoRA cannot pair" in str(w.message)]
    assert len(ours) == 1 and "lora_embedding_A" in str(ours[0].message)
    before = magnitude.detach().clone()
    lm_loss(model, 0).backward()
    opt.step()
    assert not torch.equal(magnitude, before)  # the optimizer still trains it


def test_only_the_adapter_the_optimizer_trains_is_managed():
    model = tiny_llama(target_modules=["q_proj"])
    model.add_adapter("other", peft.LoraConfig(r=2, target_modules=["q_proj"]))
    model.set_adapter("default")  # "other" is frozen
    trainable = [p for p in model.parameters() if p.requires_grad]
    pairs, _ = find_lora_pairs(model)
    assert len(pairs) == 4  # 2 layers x 2 adapters
    opt = attach(torch.optim.AdamW(trainable, lr=1e-2), model, shrink=0.05)
    names = attachment(opt).names
    assert len(names) == 2 and all(n.endswith("[default]") for n in names)
