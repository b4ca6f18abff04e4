#pragma once
// Python 3.11's tokenizer, reduced to what an eval() of one expression can
// meet: it yields the same tokens and raises the same SyntaxError texts for
// bad literals, brackets, characters and line continuations.

#include <string>
#include <string_view>
#include <vector>

namespace stirrup::detail::pyexpr {

enum class TokKind {
    Number,
    Name,
    String,
    Op,
    Newline,
    Indent,
    EndMarker,
    /// The tokenizer raised here: `message` is the whole str(SyntaxError).
    Error,
    /// The text ended early (inside brackets, or after a trailing backslash);
    /// CPython's parser raises only if it needs a token from here.
    Eof,
};

struct Token {
    TokKind kind = TokKind::EndMarker;
    std::string text; // Number/Name/String/Op: the source text
    int line = 0;
    // Error: the exception; Eof: the message the parser raises on reaching it.
    std::string message;
    std::string error_type; // "SyntaxError" (or "IndentationError")
    int open_line = 0;      // Eof inside brackets: line of the innermost open bracket
};

/// All tokens of `source`; the last one is EndMarker, Error or Eof.
/// `source` has had its leading blanks stripped and newlines normalised.
std::vector<Token> tokenize(std::string_view source);

/// Text for "<message> (<string>, line N)".
std::string syntax_error_text(const std::string& message, int line);

} // namespace stirrup::detail::pyexpr
