// Tensors of the tiny llama model: random, or the previous-token state machine of testmodel.h.
#include "weights.h"

#include <cmath>
#include <cstring>
#include <functional>

namespace llmdesk::testmodel {
namespace {

// Each tensor draws from its own stream (seed mixed with its name), so adding or reordering
// tensors never changes the values of the others.
uint64_t StreamSeed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return Rng(seed ^ h).Next();
}

void Random(std::vector<float>& v, Rng& rng, float scale) {
  for (auto& x : v) x = rng.Uniform(scale);
}

// Creates the planned tensors in one ggml context, filled from each tensor's own random stream.
Result<ModelTensors> Materialize(const std::vector<TensorPlan>& plans, uint64_t seed) {
  size_t bytes = 0;
  for (const auto& plan : plans)
    bytes += ggml_row_size(plan.type, plan.ne0) * std::max<int64_t>(plan.ne1, 1) + ggml_tensor_overhead() + 64;
  ModelTensors out;
  out.ctx.reset(ggml_init({bytes + (1 << 20), nullptr, false}));
  if (!out.ctx) return Status::Internal("ggml_init failed (out of memory?)");

  std::vector<float> values;
  for (const auto& plan : plans) {
    ggml_tensor* t = plan.ne1 == 0 ? ggml_new_tensor_1d(out.ctx.get(), plan.type, plan.ne0)
                                   : ggml_new_tensor_2d(out.ctx.get(), plan.type, plan.ne0, plan.ne1);
    ggml_set_name(t, plan.name.c_str());
    values.assign(static_cast<size_t>(ggml_nelements(t)), 0.0f);
    Rng rng(StreamSeed(seed, plan.name));
    plan.fill(values, rng);
    if (plan.type == GGML_TYPE_F16) {
      ggml_fp32_to_fp16_row(values.data(), static_cast<ggml_fp16_t*>(t->data), ggml_nelements(t));
    } else {
      std::memcpy(t->data, values.data(), values.size() * sizeof(float));
    }
    out.tensors.push_back(t);
  }
  return out;
}

}  // namespace

Result<ModelTensors> BuildTensors(const Shape& shape, uint64_t seed, const Script* script, int64_t n_vocab) {
  const int64_t n_embd = shape.n_embd;
  const int64_t head_dim = n_embd / shape.n_head;
  const int64_t n_embd_kv = head_dim * shape.n_head_kv;
  const float proj_scale = 1.0f / std::sqrt(static_cast<float>(n_embd));
  const float ff_scale = 1.0f / std::sqrt(static_cast<float>(shape.n_ff));
  auto ones = [](std::vector<float>& v, Rng&) { std::fill(v.begin(), v.end(), 1.0f); };
  auto zeros = [](std::vector<float>& v, Rng&) { std::fill(v.begin(), v.end(), 0.0f); };
  auto random = [](float scale) { return [scale](std::vector<float>& v, Rng& rng) { Random(v, rng, scale); }; };

  // State s (0 = "any unscripted token", k + 1 = "scripted token k") is the one-hot direction s.
  std::vector<int64_t> state_of;  // per token id, only for scripted models
  if (script) {
    if (static_cast<int64_t>(script->tokens.size()) + 1 > n_embd)
      return Status::InvalidArgument("the scripted answer needs more states than n_embd has dimensions");
    state_of.assign(n_vocab, 0);
    for (size_t k = 0; k < script->tokens.size(); ++k) state_of[script->tokens[k]] = static_cast<int64_t>(k) + 1;
  }
  // rms_norm turns a one-hot vector into sqrt(n_embd) on that axis; aim for a logit of 40 so that
  // even llama-server's default sampling (temperature 0.8, top-k 40) has no real alternative.
  const float kLogit = 40.0f;
  const float gain = kLogit / std::sqrt(static_cast<float>(n_embd));

  if (script && !script->answer_tokens.empty()) {
    auto answer = AnswerTensorPlans(shape, *script, n_vocab);
    if (!answer) return answer.status();
    return Materialize(*answer, seed);
  }
  std::vector<TensorPlan> plans;
  if (script) {
    plans.push_back({"token_embd.weight", GGML_TYPE_F16, n_embd, n_vocab, [&](std::vector<float>& v, Rng&) {
                       std::fill(v.begin(), v.end(), 0.0f);
                       for (int64_t t = 0; t < n_vocab; ++t) v[t * n_embd + state_of[t]] = 1.0f;
                     }});
  } else {
    plans.push_back({"token_embd.weight", GGML_TYPE_F16, n_embd, n_vocab, random(1.0f)});
  }
  plans.push_back({"output_norm.weight", GGML_TYPE_F32, n_embd, 0, ones});
  if (script) {
    // Untied output layer: state s votes for the token that follows it.
    plans.push_back({"output.weight", GGML_TYPE_F16, n_embd, n_vocab, [&](std::vector<float>& v, Rng&) {
                       std::fill(v.begin(), v.end(), 0.0f);
                       const auto& tokens = script->tokens;
                       for (size_t s = 0; s <= tokens.size(); ++s) {
                         int64_t next = s < tokens.size() ? tokens[s] : script->end_token;
                         v[next * n_embd + static_cast<int64_t>(s)] = gain;
                       }
                     }});
  }
  for (int il = 0; il < shape.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    // In scripted models the layers still compute (random q/k/v, gate/up) but write nothing
    // back into the residual stream.
    auto out_proj = script ? std::function<void(std::vector<float>&, Rng&)>(zeros) : random(proj_scale);
    auto down_proj = script ? std::function<void(std::vector<float>&, Rng&)>(zeros) : random(ff_scale);
    plans.push_back({p + "attn_norm.weight", GGML_TYPE_F32, n_embd, 0, ones});
    plans.push_back({p + "attn_q.weight", GGML_TYPE_F16, n_embd, n_embd, random(proj_scale)});
    plans.push_back({p + "attn_k.weight", GGML_TYPE_F16, n_embd, n_embd_kv, random(proj_scale)});
    plans.push_back({p + "attn_v.weight", GGML_TYPE_F16, n_embd, n_embd_kv, random(proj_scale)});
    plans.push_back({p + "attn_output.weight", GGML_TYPE_F16, n_embd, n_embd, out_proj});
    plans.push_back({p + "ffn_norm.weight", GGML_TYPE_F32, n_embd, 0, ones});
    plans.push_back({p + "ffn_gate.weight", GGML_TYPE_F16, n_embd, shape.n_ff, random(proj_scale)});
    plans.push_back({p + "ffn_up.weight", GGML_TYPE_F16, n_embd, shape.n_ff, random(proj_scale)});
    plans.push_back({p + "ffn_down.weight", GGML_TYPE_F16, shape.n_ff, n_embd, down_proj});
  }

  return Materialize(plans, seed);
}

}  // namespace llmdesk::testmodel
