// tools/calculator.cpp — the `calculator` tool: arithmetic with muparser, bounded against hostile input.
//
// muparser does the parsing and evaluation; this file only sets the limits around it and turns its
// errors into messages a model can act on. Each thread keeps one configured parser and re-uses it for
// its calls, so concurrent calls are independent (a Parser holds the expression and its bytecode).
//
// The built-in binary operators are replaced by our own (same precedence and associativity) because
// muparser divides by zero silently (1/0 = inf), and "division by zero" must be told apart from an
// overflow such as 9^9^9^9; `%` (fmod) is added the same way.
#include <cmath>
#include <memory>
#include <numbers>
#include <string>

#include <muParser.h>

#include "tools/builtin.h"

namespace llmdesk::tools {
namespace {

constexpr size_t kMaxExpressionLength = 1024;
constexpr int kMaxNesting = 64;

struct DivisionByZero {};  // thrown from the operator callbacks, caught in Evaluate

double Add(double a, double b) { return a + b; }
double Subtract(double a, double b) { return a - b; }
double Multiply(double a, double b) { return a * b; }
double Divide(double a, double b) {
  if (b == 0) throw DivisionByZero{};
  return a / b;
}
double Modulo(double a, double b) {
  if (b == 0) throw DivisionByZero{};
  return std::fmod(a, b);
}
double Power(double a, double b) { return std::pow(a, b); }

// Checks the limits muparser does not enforce itself; "" when the text may be parsed.
std::string CheckBounds(const std::string& expression) {
  if (expression.size() > kMaxExpressionLength)
    return "expression is too long (" + std::to_string(expression.size()) + " characters; the limit is " +
           std::to_string(kMaxExpressionLength) + ")";
  if (expression.find('\0') != std::string::npos) return "expression contains a NUL byte";
  int depth = 0;
  for (char c : expression) {
    if (c == '(' && ++depth > kMaxNesting)
      return "expression is nested too deeply (more than " + std::to_string(kMaxNesting) + " parentheses)";
    if (c == ')') --depth;
  }
  if (expression.find_first_not_of(" \t\r\n") == std::string::npos) return "expression is empty";
  return "";
}

// At most `max` bytes of `text` for a message, cut on UTF-8 character boundaries: the text comes from a
// valid JSON string and must stay valid, or the reply could not be serialised.
std::string Excerpt(std::string text, size_t max = 40) {
  auto continuation = [&text](size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  size_t begin = 0;
  while (begin < text.size() && continuation(begin)) ++begin;
  text.erase(0, begin);
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && continuation(cut)) --cut;
  return text.substr(0, cut) + "...";
}

// muparser reports unknown names as "unassignable tokens"; a name followed by '(' was meant as a function.
std::string DescribeParserError(const mu::ParserError& e, const std::string& expression) {
  std::string token = e.GetToken();
  while (!token.empty() && token.back() == ' ') token.pop_back();  // muparser pads the expression with a space
  token = Excerpt(std::move(token));
  const int pos = e.GetPos();
  if (e.GetCode() == mu::ecUNASSIGNABLE_TOKEN && pos >= 0 && !token.empty() &&
      (std::isalpha(static_cast<unsigned char>(token[0])) || token[0] == '_')) {
    size_t end = static_cast<size_t>(pos);
    while (end < expression.size() && (std::isalnum(static_cast<unsigned char>(expression[end])) || expression[end] == '_'))
      ++end;
    std::string name = Excerpt(expression.substr(static_cast<size_t>(pos), end - static_cast<size_t>(pos)));
    size_t next = expression.find_first_not_of(' ', end);
    if (next != std::string::npos && expression[next] == '(') return "unknown function '" + name + "'";
    return "unknown variable '" + name + "' (only the constants pi and e are defined)";
  }
  switch (e.GetCode()) {
    case mu::ecMISSING_PARENS: return "syntax error: missing closing parenthesis";
    case mu::ecUNEXPECTED_EOF: return "syntax error: the expression ends unexpectedly";
    case mu::ecTOO_FEW_PARAMS: return "syntax error: too few arguments for '" + token + "'";
    case mu::ecTOO_MANY_PARAMS: return "syntax error: too many arguments for '" + token + "'";
    case mu::ecINVALID_CHARACTERS_FOUND: return "expression contains characters that are not allowed";
    default: break;
  }
  std::string where = pos >= 0 ? " at position " + std::to_string(pos + 1) : "";
  std::string what = token.empty() ? "" : ": unexpected '" + token + "'";
  return "syntax error" + where + what;
}

struct Evaluation {
  double value = 0;
  std::string error;  // empty on success
};

std::unique_ptr<mu::Parser> MakeParser() {
  auto parser = std::make_unique<mu::Parser>();
  parser->EnableBuiltInOprt(false);
  parser->DefineOprt("+", Add, mu::prADD_SUB);
  parser->DefineOprt("-", Subtract, mu::prADD_SUB);
  parser->DefineOprt("*", Multiply, mu::prMUL_DIV);
  parser->DefineOprt("/", Divide, mu::prMUL_DIV);
  parser->DefineOprt("%", Modulo, mu::prMUL_DIV);
  parser->DefineOprt("^", Power, mu::prPOW, mu::oaRIGHT);
  parser->DefineConst("pi", std::numbers::pi);
  parser->DefineConst("e", std::numbers::e);
  return parser;
}

// Building a configured parser (muparser registers ~30 functions) costs several times a whole call,
// and so does copying one; SetExpr replaces the expression and bytecode of a used one. So each thread
// builds one parser once and re-uses it; a parser is never shared between threads.
mu::Parser& ThreadParser() {
  thread_local std::unique_ptr<mu::Parser> parser = MakeParser();
  return *parser;
}

Evaluation Evaluate(const std::string& expression) {
  if (auto err = CheckBounds(expression); !err.empty()) return {0, err};
  try {
    mu::Parser& parser = ThreadParser();
    parser.SetExpr(expression);
    double value = parser.Eval();
    if (parser.GetNumResults() != 1)
      return {0, "syntax error: give one expression, not several separated by commas"};
    if (std::isnan(value))
      return {0, "result is not a finite number (undefined, e.g. the square root or logarithm of a negative number)"};
    if (!std::isfinite(value)) return {0, "result is not a finite number (it is too large for a double)"};
    return {value, ""};
  } catch (const DivisionByZero&) {
    return {0, "division by zero"};
  } catch (const mu::ParserError& e) {
    return {0, DescribeParserError(e, expression)};
  } catch (const std::exception& e) {
    return {0, std::string("could not evaluate the expression: ") + e.what()};
  }
}

ToolResult Calculate(const nlohmann::json& arguments) {
  const std::string& expression = arguments.at("expression").get_ref<const std::string&>();
  Evaluation eval = Evaluate(expression);
  if (!eval.error.empty()) return ToolResult::Error(eval.error);
  return StructuredResult(FormatNumber(eval.value), {{"result", eval.value}, {"expression", expression}});
}

}  // namespace

Tool MakeCalculatorTool() {
  Tool t;
  t.name = kCalculatorTool;
  t.title = "Calculator";
  t.description =
      "Evaluates an arithmetic expression exactly as written and returns the number. Use it for any "
      "arithmetic instead of computing in your head. Operators: + - * / ^ (power, right-associative) and "
      "% (remainder); parentheses. Functions: sqrt, abs, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, "
      "exp, ln and log (both natural logarithm), log10, log2, sign, rint (round), min(a,b,...), max(a,b,...), "
      "sum(...), avg(...). Constants: pi, e. Angles are in radians. Example: \"sqrt(2) * (3 + 4)^2\".";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"expression",
         {{"type", "string"},
          {"description", "The arithmetic expression, e.g. \"2+2\" or \"sin(pi/2)\". At most 1024 characters."},
          {"minLength", 1},
          {"maxLength", kMaxExpressionLength}}}}},
      {"required", {"expression"}},
      {"additionalProperties", false}};
  t.output_schema = nlohmann::json{
      {"type", "object"},
      {"properties",
       {{"result", {{"type", "number"}, {"description", "The value of the expression"}}},
        {"expression", {{"type", "string"}, {"description", "The expression that was evaluated"}}}}},
      {"required", {"result", "expression"}}};
  t.annotations = {{"title", t.title}, {"readOnlyHint", true}, {"destructiveHint", false},
                   {"idempotentHint", true}, {"openWorldHint", false}};
  t.run = [](const nlohmann::json& arguments, const CallContext&) { return Calculate(arguments); };
  return t;
}

}  // namespace llmdesk::tools
