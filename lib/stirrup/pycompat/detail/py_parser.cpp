#include "stirrup/pycompat/detail/py_parser.hpp"

#include <algorithm>
#include <utility>

#include "stirrup/pycompat/detail/py_float.hpp"
#include "stirrup/pycompat/detail/py_lexer.hpp"
#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {

// A syntax error found by the parser (not the tokenizer); parse_expression
// decides whether a tokenizer error outranks it, as CPython does.
struct ParseFailure {
    std::string message;
    int line;
    std::string type = "SyntaxError";
};

constexpr std::string_view kKeywords[] = {"False",  "None",   "True",    "and",      "as",       "assert", "async",
                                          "await",  "break",  "class",   "continue", "def",      "del",    "elif",
                                          "else",   "except", "finally", "for",      "from",     "global", "if",
                                          "import", "in",     "is",      "lambda",   "nonlocal", "not",    "or",
                                          "pass",   "raise",  "return",  "try",      "while",    "with",   "yield"};

bool is_keyword(std::string_view w)
{
    return std::find(std::begin(kKeywords), std::end(kKeywords), w) != std::end(kKeywords);
}

NodePtr make_node(Node::Kind kind)
{
    auto n = std::make_unique<Node>();
    n->kind = kind;
    return n;
}

NodePtr finish(NodePtr n);

NodePtr unsupported(std::string what, std::vector<NodePtr> kids = {})
{
    auto n = make_node(Node::Kind::Unsupported);
    n->text = std::move(what) + " not supported by the calculator";
    n->kids = std::move(kids);
    return finish(std::move(n));
}

[[noreturn]] void too_deep()
{
    // Python's compiler limit, reached here sooner (see kMaxNesting).
    throw detail::PythonExpressionError("RecursionError", "maximum recursion depth exceeded during compilation");
}

// Sets the node's depth from its children, refusing trees too deep to walk.
NodePtr finish(NodePtr n)
{
    int d = 0;
    for (const auto& k : n->kids)
        d = std::max(d, k->depth);
    n->depth = d + 1;
    if (n->depth > kMaxTreeDepth)
        too_deep();
    return n;
}

class Parser {
public:
    explicit Parser(const std::vector<Token>& toks) : toks_(toks) {}

    NodePtr parse()
    {
        if (peek().kind == TokKind::Indent)
            indent_error();
        NodePtr n = expressions();
        while (peek().kind == TokKind::Newline)
            ++i_;
        if (peek().kind == TokKind::Indent)
            indent_error();
        if (peek().kind != TokKind::EndMarker)
            fail_at(peek());
        return n;
    }

private:
    struct DepthGuard {
        explicit DepthGuard(int& d) : depth(d)
        {
            if (++depth > kMaxNesting)
                too_deep();
        }
        ~DepthGuard() { --depth; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
        int& depth;
    };

    // Tokens past a tokenizer error or an early end of text are never
    // reached: asking for one raises what CPython raises there.
    const Token& peek() const
    {
        const Token& t = toks_[i_];
        if (t.kind == TokKind::Error)
            throw detail::PythonExpressionError(t.error_type, t.message);
        if (t.kind == TokKind::Eof) {
            throw detail::PythonExpressionError(t.error_type,
                                                syntax_error_text(t.message, t.open_line ? t.open_line : t.line));
        }
        return t;
    }

    const Token& peek_at(std::size_t k) const
    {
        const std::size_t saved = i_;
        i_ = std::min(i_ + k, toks_.size() - 1);
        const Token& t = peek();
        i_ = saved;
        return t;
    }

    bool is_op(const Token& t, std::string_view op) const { return t.kind == TokKind::Op && t.text == op; }
    bool is_name(const Token& t, std::string_view w) const { return t.kind == TokKind::Name && t.text == w; }
    bool at_op(std::string_view op) const { return is_op(peek(), op); }
    bool at_name(std::string_view w) const { return is_name(peek(), w); }

    bool accept_op(std::string_view op)
    {
        if (!at_op(op))
            return false;
        ++i_;
        return true;
    }

    bool accept_name(std::string_view w)
    {
        if (!at_name(w))
            return false;
        ++i_;
        return true;
    }

    [[noreturn]] void fail_at(const Token& t, std::string message = "invalid syntax") const
    {
        throw ParseFailure{std::move(message), t.line};
    }

    [[noreturn]] void indent_error() const { throw ParseFailure{"unexpected indent", peek().line, "IndentationError"}; }

    bool starts_expression(const Token& t) const
    {
        switch (t.kind) {
        case TokKind::Number:
        case TokKind::String:
            return true;
        case TokKind::Name:
            return !is_keyword(t.text) || t.text == "True" || t.text == "False" || t.text == "None" ||
                   t.text == "not" || t.text == "lambda" || t.text == "await";
        case TokKind::Op:
            return t.text == "(" || t.text == "[" || t.text == "{" || t.text == "-" || t.text == "+" || t.text == "~" ||
                   t.text == "...";
        default:
            return false;
        }
    }

    // Inside brackets, after an element that started at token `start`, the
    // next token is neither ',' nor the closer. CPython's invalid_expression
    // rule: if another expression follows, suggest the missing comma.
    [[noreturn]] void bad_element_end(std::size_t start)
    {
        const Token& t = peek();
        const Token& first = toks_[start];
        const bool soft_keyword = is_name(first, "_") || is_name(first, "match") || is_name(first, "case");
        const bool prefix_typo = first.kind == TokKind::Name && t.kind == TokKind::String;
        if (!starts_expression(t) || soft_keyword || prefix_typo)
            fail_at(t);
        const std::size_t saved = i_;
        try {
            (void)expression();
        } catch (const ParseFailure&) {
            i_ = saved;
            fail_at(t);
        }
        throw ParseFailure{"invalid syntax. Perhaps you forgot a comma?", first.line};
    }

    // Skips to the closer matching the bracket already consumed; for
    // constructs the calculator only recognises (comprehensions, dicts...).
    void skip_to_closer()
    {
        int level = 1;
        while (level > 0) {
            const Token& t = peek();
            if (t.kind == TokKind::EndMarker)
                fail_at(t);
            if (t.kind == TokKind::Op && (t.text == "(" || t.text == "[" || t.text == "{"))
                ++level;
            if (t.kind == TokKind::Op && (t.text == ")" || t.text == "]" || t.text == "}"))
                --level;
            ++i_;
        }
    }

    // At 'for' inside a bracket: Python evaluates the first iterable before
    // anything else, so its NameError still shows; the rest is skipped.
    NodePtr comprehension(const char* what)
    {
        accept_name("async");
        if (!accept_name("for"))
            fail_at(peek());
        int level = 0;
        while (!(level == 0 && at_name("in"))) {
            const Token& t = peek();
            if (t.kind == TokKind::EndMarker || t.kind == TokKind::Newline)
                fail_at(t);
            if (is_op(t, "(") || is_op(t, "[") || is_op(t, "{"))
                ++level;
            if (is_op(t, ")") || is_op(t, "]") || is_op(t, "}")) {
                if (level == 0)
                    fail_at(t);
                --level;
            }
            ++i_;
        }
        ++i_;
        std::vector<NodePtr> kids;
        kids.push_back(disjunction());
        skip_to_closer();
        return unsupported(what, std::move(kids));
    }

    NodePtr expressions()
    {
        NodePtr first = expression();
        if (!at_op(","))
            return first;
        auto tuple = make_node(Node::Kind::Tuple);
        tuple->kids.push_back(std::move(first));
        while (accept_op(",")) {
            if (!starts_expression(peek()))
                break;
            tuple->kids.push_back(expression());
        }
        return finish(std::move(tuple));
    }

    NodePtr expression()
    {
        DepthGuard guard(depth_);
        if (at_name("lambda"))
            return lambda();
        const Token& start = peek();
        NodePtr body = disjunction();
        if (!accept_name("if"))
            return body;
        NodePtr cond = disjunction();
        if (!accept_name("else")) {
            if (at_op(":"))
                fail_at(peek());
            fail_at(start, "expected 'else' after 'if' expression");
        }
        NodePtr orelse = expression();
        auto n = make_node(Node::Kind::IfExp);
        n->kids.push_back(std::move(body));
        n->kids.push_back(std::move(cond));
        n->kids.push_back(std::move(orelse));
        return finish(std::move(n));
    }

    NodePtr lambda()
    {
        ++i_;
        // Parameters are only skipped: a lambda is never called here.
        while (!at_op(":")) {
            const Token& t = peek();
            if (t.kind == TokKind::Newline || t.kind == TokKind::EndMarker || is_op(t, "(") || is_op(t, ")") ||
                is_op(t, "[") || is_op(t, "]")) {
                fail_at(t);
            }
            ++i_;
        }
        ++i_;
        (void)expression();
        return unsupported("lambda is");
    }

    NodePtr bool_chain(Node::Kind kind, std::string_view word, NodePtr (Parser::*next)())
    {
        NodePtr first = (this->*next)();
        if (!at_name(word))
            return first;
        auto n = make_node(kind);
        n->kids.push_back(std::move(first));
        while (accept_name(word))
            n->kids.push_back((this->*next)());
        return finish(std::move(n));
    }

    NodePtr disjunction() { return bool_chain(Node::Kind::Or, "or", &Parser::conjunction); }
    NodePtr conjunction() { return bool_chain(Node::Kind::And, "and", &Parser::inversion); }

    NodePtr inversion()
    {
        if (!at_name("not"))
            return comparison();
        DepthGuard guard(depth_);
        ++i_;
        auto n = make_node(Node::Kind::Unary);
        n->unary = UnaryOp::Not;
        n->kids.push_back(inversion());
        return finish(std::move(n));
    }

    bool comparison_op(CmpOp* op)
    {
        const Token& t = peek();
        static const std::pair<std::string_view, CmpOp> kOps[] = {{"<", CmpOp::Lt},  {"<=", CmpOp::Le},
                                                                  {">", CmpOp::Gt},  {">=", CmpOp::Ge},
                                                                  {"==", CmpOp::Eq}, {"!=", CmpOp::Ne}};
        for (const auto& [text, value] : kOps) {
            if (is_op(t, text)) {
                ++i_;
                *op = value;
                return true;
            }
        }
        if (is_name(t, "in")) {
            ++i_;
            *op = CmpOp::In;
            return true;
        }
        if (is_name(t, "not") && is_name(peek_at(1), "in")) {
            i_ += 2;
            *op = CmpOp::NotIn;
            return true;
        }
        if (is_name(t, "is")) {
            ++i_;
            *op = accept_name("not") ? CmpOp::IsNot : CmpOp::Is;
            return true;
        }
        return false;
    }

    NodePtr comparison()
    {
        NodePtr first = bitwise_or();
        CmpOp op{};
        if (!comparison_op(&op))
            return first;
        auto n = make_node(Node::Kind::Compare);
        n->kids.push_back(std::move(first));
        do {
            n->cmps.push_back(op);
            n->kids.push_back(bitwise_or());
        } while (comparison_op(&op));
        return finish(std::move(n));
    }

    // One left-associative precedence level, kept flat so that a long sum
    // does not make a deep tree.
    NodePtr binary_level(std::initializer_list<std::pair<std::string_view, BinOp>> ops, NodePtr (Parser::*next)())
    {
        NodePtr first = (this->*next)();
        NodePtr chain;
        for (;;) {
            const Token& t = peek();
            const BinOp* found = nullptr;
            for (const auto& entry : ops) {
                if (is_op(t, entry.first))
                    found = &entry.second;
            }
            if (!found)
                break;
            ++i_;
            if (!chain) {
                chain = make_node(Node::Kind::BinaryChain);
                chain->kids.push_back(std::move(first));
            }
            chain->ops.push_back(*found);
            chain->kids.push_back((this->*next)());
        }
        return chain ? finish(std::move(chain)) : std::move(first);
    }

    NodePtr bitwise_or() { return binary_level({{"|", BinOp::BitOr}}, &Parser::bitwise_xor); }
    NodePtr bitwise_xor() { return binary_level({{"^", BinOp::BitXor}}, &Parser::bitwise_and); }
    NodePtr bitwise_and() { return binary_level({{"&", BinOp::BitAnd}}, &Parser::shift); }
    NodePtr shift() { return binary_level({{"<<", BinOp::LShift}, {">>", BinOp::RShift}}, &Parser::sum); }
    NodePtr sum() { return binary_level({{"+", BinOp::Add}, {"-", BinOp::Sub}}, &Parser::term); }
    NodePtr term()
    {
        return binary_level({{"*", BinOp::Mul},
                             {"/", BinOp::TrueDiv},
                             {"//", BinOp::FloorDiv},
                             {"%", BinOp::Mod},
                             {"@", BinOp::MatMul}},
                            &Parser::factor);
    }

    NodePtr factor()
    {
        const Token& t = peek();
        UnaryOp op{};
        if (is_op(t, "+"))
            op = UnaryOp::Plus;
        else if (is_op(t, "-"))
            op = UnaryOp::Minus;
        else if (is_op(t, "~"))
            op = UnaryOp::Invert;
        else
            return power();
        DepthGuard guard(depth_);
        ++i_;
        auto n = make_node(Node::Kind::Unary);
        n->unary = op;
        n->kids.push_back(factor());
        return finish(std::move(n));
    }

    NodePtr power()
    {
        NodePtr base = primary();
        if (!accept_op("**"))
            return base;
        DepthGuard guard(depth_);
        // Right-associative, and binds tighter than a unary minus on its left
        // but not on its right: -2**2 == -4, 2**-1 == 0.5.
        auto n = make_node(Node::Kind::BinaryChain);
        n->ops.push_back(BinOp::Pow);
        n->kids.push_back(std::move(base));
        n->kids.push_back(factor());
        return finish(std::move(n));
    }

    NodePtr primary()
    {
        NodePtr n = atom();
        for (;;) {
            if (accept_op(".")) {
                if (peek().kind != TokKind::Name || is_keyword(peek().text))
                    fail_at(peek());
                ++i_;
                std::vector<NodePtr> kids;
                kids.push_back(std::move(n));
                n = (unsupported("attribute access is", std::move(kids)));
            } else if (accept_op("(")) {
                n = call(std::move(n));
            } else if (accept_op("[")) {
                n = subscript(std::move(n));
            } else {
                return n;
            }
        }
    }

    NodePtr call(NodePtr callee)
    {
        auto n = make_node(Node::Kind::Call);
        n->kids.push_back(std::move(callee));
        while (!accept_op(")")) {
            const std::size_t start = i_;
            if (accept_op("*") || accept_op("**")) {
                n->kids.push_back(expression());
            } else if (peek().kind == TokKind::Name && !is_keyword(peek().text) && is_op(peek_at(1), "=")) {
                i_ += 2;
                n->kids.push_back(expression());
            } else {
                n->kids.push_back(expression());
                if (at_name("for") || at_name("async")) {
                    n->kids.back() = comprehension("generator expressions are");
                    return finish(std::move(n));
                }
            }
            if (at_op(")"))
                continue;
            if (!accept_op(","))
                bad_element_end(start);
        }
        return finish(std::move(n));
    }

    NodePtr subscript(NodePtr target)
    {
        std::vector<NodePtr> kids;
        kids.push_back(std::move(target));
        if (at_op(":")) {
            skip_to_closer();
            return (unsupported("slicing is", std::move(kids)));
        }
        const std::size_t start = i_;
        NodePtr index = expressions();
        kids.push_back(std::move(index));
        if (at_op(":")) {
            skip_to_closer();
            return (unsupported("slicing is", std::move(kids)));
        }
        if (!accept_op("]"))
            bad_element_end(start);
        auto n = make_node(Node::Kind::Subscript);
        n->kids = std::move(kids);
        return finish(std::move(n));
    }

    // '(' or '[' already consumed.
    NodePtr display(bool is_list)
    {
        const char* closer = is_list ? "]" : ")";
        if (accept_op(closer))
            return make_node(is_list ? Node::Kind::List : Node::Kind::Tuple);
        if (!is_list && peek().kind == TokKind::Name && is_op(peek_at(1), ":=")) {
            i_ += 2;
            std::vector<NodePtr> kids;
            kids.push_back(expression());
            if (!accept_op(")"))
                fail_at(peek());
            return (unsupported("assignment expressions are", std::move(kids)));
        }
        if (at_op("*"))
            fail_at(peek());
        std::size_t start = i_;
        NodePtr first = expression();
        if (at_name("for") || at_name("async"))
            return comprehension("comprehensions are");
        if (!is_list && accept_op(")"))
            return first;
        auto n = make_node(is_list ? Node::Kind::List : Node::Kind::Tuple);
        n->kids.push_back(std::move(first));
        for (;;) {
            if (accept_op(closer))
                break;
            if (!accept_op(","))
                bad_element_end(start);
            if (accept_op(closer))
                break;
            start = i_;
            if (at_op("*"))
                fail_at(peek());
            n->kids.push_back(expression());
        }
        return finish(std::move(n));
    }

    NodePtr number(const Token& t)
    {
        std::string text;
        for (const char c : t.text) {
            if (c != '_')
                text += c;
        }
        const char last = static_cast<char>(text.back() | 0x20);
        if (text.size() > 1 && text[0] == '0' &&
            ((text[1] | 0x20) == 'x' || (text[1] | 0x20) == 'o' || (text[1] | 0x20) == 'b')) {
            const int base = (text[1] | 0x20) == 'x' ? 16 : (text[1] | 0x20) == 'o' ? 8 : 2;
            return constant(
                make_int(BigInt::from_digits(std::string_view(text).substr(2), static_cast<unsigned>(base))));
        }
        if (last == 'j')
            return unsupported("complex numbers are");
        if (text.find_first_of(".eE") != std::string::npos)
            return constant(make_float(parse_float_literal(text)));
        const auto nz = text.find_first_not_of('0');
        const std::string digits = nz == std::string::npos ? "0" : text.substr(nz);
        if (text.size() > 4300) {
            fail_at(t, "Exceeds the limit (4300 digits) for integer string conversion: value has " +
                           std::to_string(text.size()) +
                           " digits; use sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal "
                           "for huge integer literals to avoid decimal conversion limits.");
        }
        return constant(make_int(BigInt::from_digits(digits, 10)));
    }

    static NodePtr constant(Value v)
    {
        auto n = make_node(Node::Kind::Constant);
        n->value = std::move(v);
        return n;
    }

    NodePtr atom()
    {
        const Token& t = peek();
        switch (t.kind) {
        case TokKind::Number:
            ++i_;
            return number(t);
        case TokKind::String:
            while (peek().kind == TokKind::String)
                ++i_;
            return unsupported("string literals are");
        case TokKind::Name:
            if (t.text == "True" || t.text == "False") {
                ++i_;
                return constant(make_bool(t.text == "True"));
            }
            if (t.text == "None") {
                ++i_;
                return constant(make_none());
            }
            if (is_keyword(t.text))
                fail_at(t);
            {
                ++i_;
                auto n = make_node(Node::Kind::Name);
                n->text = t.text;
                return n;
            }
        case TokKind::Op:
            if (t.text == "...") {
                ++i_;
                return constant(make_ellipsis());
            }
            if (t.text == "(" || t.text == "[") {
                ++i_;
                return display(t.text == "[");
            }
            if (t.text == "{") {
                ++i_;
                skip_to_closer();
                return unsupported("dict and set displays are");
            }
            fail_at(t);
        default:
            fail_at(t);
        }
    }

    const std::vector<Token>& toks_;
    mutable std::size_t i_ = 0;
    int depth_ = 0;
};

} // namespace

NodePtr parse_expression(std::string_view source)
{
    const std::vector<Token> toks = tokenize(source);
    try {
        return Parser(toks).parse();
    } catch (const ParseFailure& f) {
        if (f.type == "IndentationError")
            throw detail::PythonExpressionError(f.type, syntax_error_text(f.message, f.line));
        // CPython tokenizes the rest of the text after a parser error, and a
        // tokenizer error found there replaces the parser's message; so does
        // a bracket left open on an earlier line than the error.
        const Token& last = toks.back();
        if (last.kind == TokKind::Error)
            throw detail::PythonExpressionError(last.error_type, last.message);
        if (last.kind == TokKind::Eof && last.open_line != 0 && f.line > last.open_line) {
            throw detail::PythonExpressionError(last.error_type, syntax_error_text(last.message, last.open_line));
        }
        throw detail::PythonExpressionError(f.type, syntax_error_text(f.message, f.line));
    }
}

} // namespace stirrup::detail::pyexpr
