// Tensors of an answer-after-tool model: the previous-token state machine of testmodel.h plus two
// attention layers that notice a tool response and copy a one-digit result (see testmodel.h).
//
// Residual stream, one direction each (a token embedding is its state plus "bias"):
//   other | tool-call states | answer states | "\n" | <tool_response> | digits 0-9      (states)
//   bias | tool seen | first result token | second result token | one-token result | copy 0-9
// Numbers below assume llama.cpp's llama graph: rms_norm before attention and output (weights 1),
// scores scaled by 1/sqrt(head size), RoPE "normal" (adjacent pairs, pair i turns by pos*base^(-2i/hd)).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "weights.h"

namespace llmdesk::testmodel {
namespace {

constexpr int kDigits = 10;
// Attention scores (after scaling) of a matching key; non-matching keys score 0, so even 4096
// keys leave a match e^40/4096 times more weight than all others together.
constexpr double kMatchScore = 40.0;
// The worst gap between a positional head's peak and any other distance, in score units.
constexpr double kPositionalMargin = 25.0;
// Logit of a state's successor when the residual holds just that state and bias.
constexpr double kLogit = 50.0;
// Positional heads use RoPE pairs 0..4 with these weights: the high-frequency pair separates
// neighbours, the slower ones keep far distances from lining up with the peak again.
constexpr double kPairWeights[] = {2, 1, 1, 1, 1};
constexpr int kPositionalPairs = 5;

struct Layout {
  int64_t n_tool = 0, n_answer = 0;
  int64_t other() const { return 0; }
  int64_t tool(int64_t k) const { return 1 + k; }
  int64_t answer(int64_t k) const { return 1 + n_tool + k; }
  int64_t newline() const { return 1 + n_tool + n_answer; }
  int64_t marker() const { return newline() + 1; }
  int64_t digit(int j) const { return marker() + 1 + j; }
  int64_t bias() const { return digit(kDigits); }
  int64_t flag() const { return bias() + 1; }
  int64_t first() const { return bias() + 2; }
  int64_t second() const { return bias() + 3; }
  int64_t single() const { return bias() + 4; }
  int64_t copy(int j) const { return bias() + 5 + j; }
  int64_t size() const { return copy(kDigits); }
};

// Angle per position of RoPE pair i.
double Theta(double base, int64_t head_dim, int64_t pair) {
  return std::pow(base, -2.0 * static_cast<double>(pair) / static_cast<double>(head_dim));
}

// Smallest (peak score - score at distance d) over 0 <= d < n_ctx, d != offset, for unit pair
// amplitudes: how sharply a positional head with kPairWeights singles out `offset`.
double PositionalMargin(double base, int64_t head_dim, int64_t offset, int64_t n_ctx) {
  double worst = 1e30;
  for (int64_t d = 0; d < n_ctx; ++d) {
    if (d == offset) continue;
    double gap = 0;
    for (int i = 0; i < kPositionalPairs; ++i)
      gap += kPairWeights[i] * (1 - std::cos(static_cast<double>(d - offset) * Theta(base, head_dim, i)));
    worst = std::min(worst, gap);
  }
  return worst;
}

// A dense matrix filled row by row: rows are outputs, columns inputs (ggml's ne0).
struct Matrix {
  int64_t cols;
  std::vector<float> v;
  Matrix(int64_t rows, int64_t c) : cols(c), v(static_cast<size_t>(rows * c), 0.0f) {}
  float& at(int64_t row, int64_t col) { return v[static_cast<size_t>(row * cols + col)]; }
};

TensorPlan Fixed(std::string name, int64_t ne0, int64_t ne1, Matrix m) {
  return {std::move(name), GGML_TYPE_F16, ne0, ne1,
          [m = std::move(m)](std::vector<float>& v, Rng&) { std::copy(m.v.begin(), m.v.end(), v.begin()); }};
}

}  // namespace

int64_t AnswerReservedDims(int64_t n_tool_tokens) { return Layout{n_tool_tokens, 0}.size(); }

float AnswerRopeFreqBase(const Shape& shape) {
  // Pair i turns by 1e6^(-i/8) per position whatever the head size, so the positional heads see
  // the same frequencies, and the last pair (the content heads' score) barely turns at all.
  return static_cast<float>(std::pow(10.0, 6.0 * (shape.n_embd / shape.n_head) / 16.0));
}

Result<std::vector<TensorPlan>> AnswerTensorPlans(const Shape& shape, const Script& script, int64_t n_vocab) {
  const int64_t n = shape.n_embd;
  const int64_t hd = n / shape.n_head;
  const Layout L{static_cast<int64_t>(script.tokens.size()), static_cast<int64_t>(script.answer_tokens.size())};
  // ValidateSpec has checked the shape: 2+ layers, 3+ heads, no grouped-query attention, head size 16..64.
  if (L.size() > n)
    return Status::InvalidArgument("--answer-after-tool: the scripted tokens need " + std::to_string(L.size()) +
                                   " dimensions; use a larger --embd or a shorter text");
  const double base = AnswerRopeFreqBase(shape);
  // Content heads score through the last RoPE pair; across the context it must stay nearly still.
  if (Theta(base, hd, hd / 2 - 1) * static_cast<double>(shape.n_ctx) > 0.5)
    return Status::InvalidArgument("--answer-after-tool: --ctx is too long for this head size; use a smaller --ctx");

  // rms_norm scales the residual to norm sqrt(n): a unit component reads as sqrt(n/k) when the
  // residual holds k unit components (state + bias = 2; + one mark = 3; + two = 4).
  auto unit = [n](double k) { return std::sqrt(static_cast<double>(n) / k); };
  const double sqrt_hd = std::sqrt(static_cast<double>(hd));
  const double gain = kLogit / unit(2);

  std::vector<int64_t> state_of(static_cast<size_t>(n_vocab), L.other());
  for (int64_t k = 0; k < L.n_tool; ++k) state_of[script.tokens[k]] = L.tool(k);
  for (int64_t k = 0; k < L.n_answer; ++k) state_of[script.answer_tokens[k]] = L.answer(k);
  state_of[script.newline_token] = L.newline();
  state_of[script.tool_response_token] = L.marker();
  for (int j = 0; j < kDigits; ++j) state_of[script.digit_tokens[j]] = L.digit(j);

  Matrix embd(n_vocab, n);
  for (int64_t t = 0; t < n_vocab; ++t) {
    embd.at(t, state_of[t]) = 1;
    embd.at(t, L.bias()) = 1;
  }

  Matrix out(n_vocab, n);
  auto vote = [&](int64_t token, int64_t dim, double units) { out.at(token, dim) += static_cast<float>(units * gain); };
  vote(script.tokens[0], L.other(), 1);
  vote(script.tokens[0], L.newline(), 1);
  for (int64_t k = 0; k < L.n_tool; ++k)
    vote(k + 1 < L.n_tool ? script.tokens[k + 1] : script.end_token, L.tool(k), 1);
  // "\n" + tool seen: the answer's first token (2 - 0) beats the tool call's (1 - 1).
  vote(script.answer_tokens[0], L.flag(), 2);
  vote(script.tokens[0], L.flag(), -1);
  for (int64_t k = 0; k + 1 < L.n_answer; ++k) vote(script.answer_tokens[k + 1], L.answer(k), 1);
  // After the text: the copied digit scores copy + single - bias = 1, <|im_end|> 0.5; without a
  // one-digit result every digit scores <= 0 and the answer ends.
  vote(script.end_token, L.answer(L.n_answer - 1), 0.5);
  for (int j = 0; j < kDigits; ++j) {
    vote(script.digit_tokens[j], L.copy(j), 1);
    vote(script.digit_tokens[j], L.single(), 1);
    vote(script.digit_tokens[j], L.bias(), -1);
    vote(script.end_token, L.digit(j), 1);  // after the digit, the turn ends
  }

  // Content heads: query direction q_dim at the query, key direction k_dim at the key, matched
  // through the last (still) RoPE pair; score kMatchScore when both read as the given units.
  auto content_head = [&](Matrix& q, Matrix& k, int64_t head, int64_t q_dim, int64_t k_dim, double q_unit,
                          double k_unit) {
    const double amp = std::sqrt(kMatchScore * sqrt_hd);
    q.at(head * hd + hd - 2, q_dim) = static_cast<float>(amp / q_unit);
    k.at(head * hd + hd - 2, k_dim) = static_cast<float>(amp / k_unit);
  };
  // Positional heads: the key is the same at every position (from bias); the query is that key
  // turned back by `offset` positions in each pair, so the score peaks at distance `offset`.
  auto positional_head = [&](Matrix& q, Matrix& k, int64_t head, int64_t offset) -> Status {
    const double margin = PositionalMargin(base, hd, offset, shape.n_ctx);
    if (margin < 1e-3)
      return Status::InvalidArgument("--answer-after-tool: --ctx is too long to find the tool result by position");
    const double scale = kPositionalMargin / margin;  // score of one unit-weight pair at its peak
    for (int i = 0; i < kPositionalPairs; ++i) {
      const double amp = std::sqrt(scale * kPairWeights[i] * sqrt_hd) / unit(2);
      const double angle = static_cast<double>(offset) * Theta(base, hd, i);
      k.at(head * hd + 2 * i, L.bias()) = static_cast<float>(amp);
      q.at(head * hd + 2 * i, L.bias()) = static_cast<float>(amp * std::cos(angle));
      q.at(head * hd + 2 * i + 1, L.bias()) = static_cast<float>(-amp * std::sin(angle));
    }
    return Status::Ok();
  };

  // Layer 0. Head 0: "\n" positions see the marker -> flag. Heads 1, 2: the token 2 (3) positions
  // after the marker -- the first (second) token of the result, after the "\n" -- gets a mark.
  Matrix q0(n, n), k0(n, n), v0(n, n), o0(n, n);
  content_head(q0, k0, 0, L.newline(), L.marker(), unit(2), unit(2));
  if (Status s = positional_head(q0, k0, 1, 2); !s.ok()) return s;
  if (Status s = positional_head(q0, k0, 2, 3); !s.ok()) return s;
  for (int64_t head : {0, 1, 2}) v0.at(head * hd, L.marker()) = 1;
  o0.at(L.flag(), 0) = static_cast<float>(1 / unit(2));
  o0.at(L.first(), hd) = static_cast<float>(1 / unit(2));
  o0.at(L.second(), 2 * hd) = static_cast<float>(1 / unit(2));

  // Layer 1. Head 0: the last answer token reads the digit at the first-token mark -> copy j.
  // Head 1: it reads whether the second result token is "\n" (a one-token result) -> single.
  Matrix q1(n, n), k1(n, n), v1(n, n), o1(n, n);
  content_head(q1, k1, 0, L.answer(L.n_answer - 1), L.first(), unit(2), unit(3));
  content_head(q1, k1, 1, L.answer(L.n_answer - 1), L.second(), unit(2), unit(4));
  for (int j = 0; j < kDigits; ++j) {
    v1.at(j, L.digit(j)) = 1;
    o1.at(L.copy(j), j) = static_cast<float>(1 / unit(3));  // the first result token: digit, bias, mark
  }
  v1.at(hd, L.newline()) = 1;
  o1.at(L.single(), hd) = static_cast<float>(1 / unit(4));  // "\n", bias, mark and (as a "\n") flag

  std::vector<TensorPlan> plans;
  auto ones = [](std::vector<float>& v, Rng&) { std::fill(v.begin(), v.end(), 1.0f); };
  auto random = [](float scale) {
    return [scale](std::vector<float>& v, Rng& rng) {
      for (auto& x : v) x = rng.Uniform(scale);
    };
  };
  plans.push_back(Fixed("token_embd.weight", n, n_vocab, std::move(embd)));
  plans.push_back({"output_norm.weight", GGML_TYPE_F32, n, 0, ones});
  plans.push_back(Fixed("output.weight", n, n_vocab, std::move(out)));
  for (int il = 0; il < shape.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    Matrix none(n, n);
    plans.push_back({p + "attn_norm.weight", GGML_TYPE_F32, n, 0, ones});
    plans.push_back(Fixed(p + "attn_q.weight", n, n, il == 0 ? q0 : il == 1 ? q1 : none));
    plans.push_back(Fixed(p + "attn_k.weight", n, n, il == 0 ? k0 : il == 1 ? k1 : none));
    plans.push_back(Fixed(p + "attn_v.weight", n, n, il == 0 ? v0 : il == 1 ? v1 : none));
    plans.push_back(Fixed(p + "attn_output.weight", n, n, il == 0 ? o0 : il == 1 ? o1 : none));
    plans.push_back({p + "ffn_norm.weight", GGML_TYPE_F32, n, 0, ones});
    // The feed-forward blocks compute (seeded gate/up) but write nothing back (down = 0).
    plans.push_back({p + "ffn_gate.weight", GGML_TYPE_F16, n, shape.n_ff, random(1.0f / std::sqrt(float(n)))});
    plans.push_back({p + "ffn_up.weight", GGML_TYPE_F16, n, shape.n_ff, random(1.0f / std::sqrt(float(n)))});
    plans.push_back(Fixed(p + "ffn_down.weight", shape.n_ff, n, Matrix(n, shape.n_ff)));
  }
  return plans;
}

}  // namespace llmdesk::testmodel
