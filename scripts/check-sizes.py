#!/usr/bin/env python3
"""Size limits of the Swift sources (issue 14).

  scripts/check-sizes.py              check Sources/**/*.swift
  scripts/check-sizes.py --self-test  check the brace counting on inline snippets
  scripts/check-sizes.py FILE...      check only these files

Reports every file over 400 lines and every body-carrying declaration over 60 lines:
`func`, `init`, `deinit`, `subscript`, computed properties and properties initialised
with a closure (`let x = { ... }`). A declaration's length runs from the line of its
keyword to the line of its closing brace. Braces inside string literals (plain,
multi-line, raw `#"..."#`) and comments do not count; braces inside string
interpolations do (they are code). Exit status 1 when anything is over a limit.
"""

import os
import re
import sys

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60

IDENT_START = re.compile(r"[A-Za-z_]")
IDENT = re.compile(r"[A-Za-z_0-9]*")
OPERATOR_CHARS = set("=-+*/%<>!&|^~?.")
PUNCTUATION = set("{}()[];:,@#`\\$")

# Words that start a new declaration or statement: met at bracket depth 0 on a new line
# while looking for a function's body, they mean it has none (a protocol requirement).
TYPE_KEYWORDS = {"class", "struct", "enum", "actor", "extension", "protocol"}
# What may continue a signature on the next line.
SIGNATURE_CONTINUATIONS = {"{", "->", "where", "throws", "rethrows", "async", "(", "&", ",", ":", "<", ">"}


class Token:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind    # "id", "op", "punct"
        self.text = text
        self.line = line

    def __repr__(self):
        return f"{self.text}@{self.line}"


def lex(src):
    """Code tokens of a Swift source, with comments and string contents removed.

    Interpolations (`\\(...)`, `\\#(...)` in raw strings) are lexed as code, so a string
    inside an interpolation is handled too.
    """
    tokens = []
    i, n, line = 0, len(src), 1
    # Each open interpolation: the paren depth inside it and the string to return to.
    interpolations = []

    def read_string(i, line, hashes, multiline):
        """Skips a string body starting after its opening quote(s); returns (index, line),
        or (index, line, 'interp') when an interpolation opens (index after its '(')."""
        close = ('"""' if multiline else '"') + "#" * hashes
        escape = "\\" + "#" * hashes
        while i < n:
            if src.startswith(escape, i):
                j = i + len(escape)
                if j < n and src[j] == "(":
                    return j + 1, line, "interp"
                if j < n and src[j] == "\n":
                    line += 1
                i = j + 1
                continue
            if src.startswith(close, i):
                return i + len(close), line, None
            if src[i] == "\n":
                if not multiline:  # unterminated: stop at the line's end
                    return i, line, None
                line += 1
            i += 1
        return i, line, None

    def resume(i, line, kind):
        """Continues a string; on an interpolation remembers how to come back."""
        j, line, interp = read_string(i, line, *kind)
        if interp:
            interpolations.append([0, kind])
        return j, line

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
        elif src.startswith("/*", i):
            depth = 0
            while i < n:
                if src.startswith("/*", i):
                    depth += 1
                    i += 2
                elif src.startswith("*/", i):
                    depth -= 1
                    i += 2
                    if depth == 0:
                        break
                else:
                    if src[i] == "\n":
                        line += 1
                    i += 1
        elif c == '"' or (c == "#" and re.match(r'#+"', src[i:i + 64])):
            hashes = 0
            while src[i] == "#":
                hashes += 1
                i += 1
            multiline = src.startswith('"""', i)
            i += 3 if multiline else 1
            tokens.append(Token("string", '"', line))
            i, line = resume(i, line, (hashes, multiline))
        elif interpolations and c == ")" and interpolations[-1][0] == 0:
            kind = interpolations.pop()[1]
            i, line = resume(i + 1, line, kind)
        elif IDENT_START.match(c):
            m = IDENT.match(src, i + 1)
            tokens.append(Token("id", src[i:m.end()], line))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[0-9A-Za-z_.]*").match(src, i)
            end = m.end()
            while end > i + 1 and src[end - 1] == ".":  # 1...5: the range operator is not the number's
                end -= 1
            if ".." in src[i:end]:
                end = i + src[i:end].index("..")
            tokens.append(Token("num", src[i:end], line))
            i = end
        elif c in OPERATOR_CHARS:
            j = i
            while j < n and src[j] in OPERATOR_CHARS and not src.startswith("//", j) and not src.startswith("/*", j):
                j += 1
            if j == i:  # a lone '/' starting a comment is handled above; be safe
                j = i + 1
            tokens.append(Token("op", src[i:j], line))
            i = j
        else:
            if interpolations:
                if c == "(":
                    interpolations[-1][0] += 1
                elif c == ")":
                    interpolations[-1][0] -= 1
            if c == "`":  # `escaped` identifier
                j = src.find("`", i + 1)
                if j > i and "\n" not in src[i:j]:
                    tokens.append(Token("id", src[i + 1:j], line))
                    i = j + 1
                    continue
            tokens.append(Token("punct", c, line))
            i += 1
    return tokens


def previous_is_dot(tokens, k):
    return k > 0 and tokens[k - 1].kind == "op" and tokens[k - 1].text.endswith(".")


NO_BODY = -1


def find_body(tokens, k, at_top_level):
    """Walks the tokens after the declaration keyword (or name) at tokens[k], keeping
    track of ( ) and [ ] nesting. At nesting depth 0, at_top_level(j, token, previous)
    says where the body's `{` is (its index), that there is none (NO_BODY), or to go on
    (None). Leaving the enclosing brackets also means no body."""
    depth = 0
    prev = tokens[k]
    for j in range(k + 1, len(tokens)):
        t = tokens[j]
        if depth == 0:
            verdict = at_top_level(j, t, prev)
            if verdict is not None:
                return None if verdict == NO_BODY else verdict
        if t.text in ("(", "["):
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
            if depth < 0:
                return None
        prev = t
    return None


def function_body_rule(j, t, prev):
    """For `func`, `init` and `subscript`: the first `{` outside the signature's brackets;
    none at `}` or `;`, or at a new line that does not continue the signature (a protocol
    requirement followed by the next declaration)."""
    if t.text == "{":
        return j
    if t.text in ("}", ";"):
        return NO_BODY
    if t.line != prev.line and t.text not in SIGNATURE_CONTINUATIONS \
            and prev.text not in SIGNATURE_CONTINUATIONS and prev.kind != "op":
        return NO_BODY
    return None


def property_body_rule(tokens):
    """For `var` and `let`: the `{` of a computed property (or its observers) or of a
    closure right after `=`; none for a stored property or a pattern binding."""
    def rule(j, t, prev):
        if t.text == "{":
            return j
        if t.text == "=" and t.kind == "op":
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            return j + 1 if nxt is not None and nxt.text == "{" else NO_BODY
        if t.text in ("}", ";", ",") or (t.kind == "op" and t.text not in ("?", "!", ".", "->", "<", ">")):
            return NO_BODY
        if t.line != prev.line and prev.text not in (":", "->", "<", ",", "&"):
            return NO_BODY
        if t.kind == "id" and t.text in ("in", "where"):
            return NO_BODY
        return None
    return rule


def declarations(src):
    """(name, first line, last line) of every body-carrying declaration, names qualified
    by their enclosing types and functions (`CommandLineParser.parse.value`)."""
    tokens = lex(src)
    pending = {}  # index of an opening brace -> (kind, name, line)
    for k, t in enumerate(tokens):
        if t.kind != "id":
            continue
        w = t.text
        if w in TYPE_KEYWORDS:
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is None or nxt.kind != "id" or nxt.text in ("func", "var", "let", "subscript", "init"):
                continue  # `class func`, `class var`
            name = nxt.text
            j = k + 2
            while w == "extension" and j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].kind == "id":
                name += "." + tokens[j + 1].text
                j += 2
            while j < len(tokens) and tokens[j].text not in ("{", "}", ";"):
                j += 1
            if j < len(tokens) and tokens[j].text == "{":
                pending[j] = ("type", name, t.line)
        elif w == "func":
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is None:
                continue
            body = find_body(tokens, k + 1, function_body_rule)
            if body is not None:
                pending[body] = ("func", nxt.text, t.line)
        elif w in ("init", "subscript") and not previous_is_dot(tokens, k):
            body = find_body(tokens, k, function_body_rule)
            if body is not None:
                pending[body] = ("func", w, t.line)
        elif w == "deinit" and k + 1 < len(tokens) and tokens[k + 1].text == "{":
            pending[k + 1] = ("func", "deinit", t.line)
        elif w in ("var", "let") and not previous_is_dot(tokens, k):
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is None or nxt.kind != "id":
                continue  # `let (a, b) = ...`
            body = find_body(tokens, k + 1, property_body_rule(tokens))
            if body is not None:
                pending[body] = ("func", nxt.text, t.line)

    found = []
    stack = []
    for k, t in enumerate(tokens):
        if t.text == "{" and t.kind == "punct":
            stack.append(pending.get(k))
        elif t.text == "}" and t.kind == "punct" and stack:
            frame = stack.pop()
            if frame and frame[0] == "func":
                names = [f[1] for f in stack if f] + [frame[1]]
                found.append((".".join(names), frame[2], t.line))
    return found


def check_file(path, display):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    problems = []
    lines = src.count("\n") + (0 if src.endswith("\n") or not src else 1)
    if lines > MAX_FILE_LINES:
        problems.append(f"{display}: {lines} lines (max {MAX_FILE_LINES})")
    for name, first, last in sorted(declarations(src), key=lambda d: d[1]):
        length = last - first + 1
        if length > MAX_FUNCTION_LINES:
            problems.append(f"{display}:{first}: function {name} is {length} lines (max {MAX_FUNCTION_LINES})")
    return problems


def swift_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".swift"):
                yield os.path.join(dirpath, f)


SELF_TESTS = [
    # (snippet, expected [(name, first, last)])
    ('''struct A {
    func strings() {
        let a = "}}} {"
        let b = "\\"}\\" \\\\"
        let c = #"raw } "quoted" \\(x) {"#
        let d = ##"raw "# } still raw"##
    }
    func oneLine() -> String { "{" + #"}"# }
}
''', [("A.strings", 2, 7), ("A.oneLine", 8, 8)]),
    ('''func multiline() -> String {
    let s = """
        { not a brace "
        }
        \\(value.map { "}" }) "" done
        """
    return #"""
        }" "# "{ \#(x.map { "}" })
        """#
}
''', [("multiline", 1, 10)]),
    ('''enum E {
    // a comment }
    /* a { comment /* nested } */ still } comment */
    static func commented() -> Int {   // }
        return 1 /* } */
    }
}
''', [("E.commented", 4, 6)]),
    ('''extension Outer.Inner {
    public static func parse(_ args: [String], f: (String) -> Bool = { $0.isEmpty }) throws(E) -> Int {
        func value(_ flag: String) -> String {
            return "\\(flag)}"
        }
        let handler = {
            print("{")
        }
        return 0
    }
}
''', [("Outer.Inner.parse.value", 3, 5), ("Outer.Inner.parse.handler", 6, 8), ("Outer.Inner.parse", 2, 10)]),
    ('''protocol P {
    func required() -> Int
    var size: Int { get }
    init(x: Int)
}
final class C: P {
    var stored = 1
    var typed: Int = 2
    var computed: Int {
        stored + 1
    }
    convenience init?(x: Int) {
        self.init()
        let t = T.init(y: 1)
        list.append(.init(name: "n"))
    }
    deinit {
        print("}")
    }
    subscript(i: Int) -> Int {
        get { i }
    }
    class func make() -> C { C() }
    func required() -> Int { 1 }
}
''', [("P.size", 3, 3), ("C.computed", 9, 11), ("C.init", 12, 16), ("C.deinit", 17, 19),
      ("C.subscript", 20, 22), ("C.make", 23, 23), ("C.required", 24, 24)]),
    ('''func locals() {
    var o = Options(path: "x")
    while !rest.isEmpty {
        if let v = rest.first, v == "}" { o.flag = v }
    }
    for (i, x) in list.enumerated() where x > 1 { print(i) }
    guard let a = b else { return }
    let r = 1...5
}
''', [("locals", 1, 9)]),
]


def self_test():
    failures = 0
    for i, (snippet, expected) in enumerate(SELF_TESTS, 1):
        got = sorted(declarations(snippet), key=lambda d: (d[1], d[2]))
        want = sorted(expected, key=lambda d: (d[1], d[2]))
        if got != want:
            failures += 1
            print(f"self-test {i}: expected {want}\n             got      {got}")
    # The limits themselves: a 61-line function and a 401-line file are reported.
    long_func = "func long() {\n" + "    x()\n" * 59 + "}\n"
    if declarations(long_func) != [("long", 1, 61)]:
        failures += 1
        print("self-test: a 61-line function measured wrong:", declarations(long_func))
    print(f"self-test: {len(SELF_TESTS) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if any(a.startswith("-") for a in argv[1:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if argv[1:]:
        files = [(p, p) for p in argv[1:]]
    else:
        files = [(p, os.path.relpath(p, repo)) for p in swift_files(os.path.join(repo, "Sources"))]
    problems = []
    for path, display in files:
        problems += check_file(path, display)
    for p in problems:
        print(p)
    if problems:
        print(f"check-sizes: {len(problems)} over the limits (files {MAX_FILE_LINES} lines, functions {MAX_FUNCTION_LINES})")
        return 1
    print(f"check-sizes: {len(files)} Swift files, none over {MAX_FILE_LINES} lines, no function over {MAX_FUNCTION_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
