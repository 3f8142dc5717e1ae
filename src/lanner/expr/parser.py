"""Tokens → syntax tree, with Pebble's operators, precedences and tags.

Precedence climbing over Pebble's table (plus Kestra's `??` and `???`): a binary operator
binds its right side with `precedence + 1`; `|` takes a filter call and `is` a test call
instead of an expression; the ternary `? :` is only recognised at the outermost level, as in
Pebble, so `a ? b : c ? d : e` nests to the right.
"""

from __future__ import annotations

from lanner.expr import nodes as n
from lanner.expr.errors import ExpressionError
from lanner.expr.lexer import END, EOF, NAME, NUMBER, OP, PRINT, STRING, TAG, TEXT, Token

BINARY: dict[str, int] = {
    "or": 10, "and": 15,
    "is": 20, "contains": 20, "isIn": 20,
    "==": 30, "equals": 30, "!=": 30, "<": 30, ">": 30, "<=": 30, ">=": 30,
    "+": 40, "-": 40,
    "*": 60, "/": 60, "%": 60,
    "|": 100,
    "~": 110,
    "..": 120, "??": 120, "???": 120,
}
UNARY: dict[str, int] = {"not": 500, "-": 500, "+": 500}  # Pebble 3: `not a and b` is `(not a) and b`
_WORD_OPS = ("or", "and", "is", "contains", "isIn", "equals")
_CONSTANTS = {"true": True, "false": False, "null": None, "none": None, "TRUE": True, "FALSE": False,
              "NULL": None, "NONE": None}
MAX_NESTING = 150  # depth of the syntax tree: deeper templates are refused, never crash Python
KNOWN_TAGS = ("if", "elseif", "else", "endif", "for", "endfor", "set", "filter", "endfilter", "raw", "verbatim",
              "block", "endblock", "macro", "endmacro")
_CLOSERS = ("elseif", "else", "endif", "endfor", "endfilter", "endblock", "endmacro")
_UNSUPPORTED_TAGS = {
    "extends": "a flow's template is one string: there is no other template to extend",
    "import": "a flow's template is one string: define the macro in the same template",
    "from": "a flow's template is one string: define the macro in the same template",
    "include": "a flow's template is one string: use read() for a namespace file's text, or render()",
    "embed": "a flow's template is one string: there is no other template to embed",
    "parallel": "Lanner renders templates in one thread; write the body without `parallel`",
    "cache": "a template is rendered once per use; write the body without `cache`",
    "autoescape": "Kestra does not escape output; write the body without `autoescape`",
    "flush": "the rendered text is written at once; remove `flush`",
}


class Parser:
    def __init__(self, src: str, tokens: list[Token]) -> None:
        self.src = src
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.macros: dict[str, n.Macro] = {}

    # -- helpers -------------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        j = min(self.i + k, len(self.tokens) - 1)
        return self.tokens[j]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if self.i < len(self.tokens) - 1:
            self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None, hint: str | None = None) -> ExpressionError:
        t = tok or self.tok
        return ExpressionError(message, hint=hint, template=self.src, column=t.pos + 1)

    def describe(self, t: Token) -> str:
        if t.kind == END:
            return f"`{t.value}`"
        if t.kind == EOF:
            return "the end of the template"
        if t.kind == STRING:
            return "a string"
        return f"`{t.value}`"

    def expect_op(self, op: str, what: str) -> Token:
        if not self.tok.is_op(op):
            raise self.error(f"expected `{op}` {what}, found {self.describe(self.tok)}")
        return self.advance()

    def expect_name(self, what: str) -> Token:
        if self.tok.kind != NAME:
            raise self.error(f"expected {what}, found {self.describe(self.tok)}")
        return self.advance()

    def expect_end(self, what: str) -> None:
        if self.tok.kind != END:
            raise self.error(f"unexpected {self.describe(self.tok)} in {what}",
                             hint="an operator or a closing delimiter is missing before it")
        self.advance()

    def nest(self, node: n.Node) -> None:
        if self.depth > MAX_NESTING:
            raise ExpressionError("the expression is nested too deeply", hint="split it into simpler parts",
                                  template=self.src, column=node.pos + 1)

    # -- templates -----------------------------------------------------------------------------

    def template(self) -> list[n.Node]:
        body, stop = self.body(())
        if stop is not None:
            raise self.error(f"`{{% {stop.value} %}}` without an opening tag", stop)
        return body

    def body(self, stops: tuple[str, ...]) -> tuple[list[n.Node], Token | None]:
        """Statements until one of the `stops` tags (returned, positioned after its name) or EOF."""
        out: list[n.Node] = []
        while True:
            t = self.tok
            if t.kind == EOF:
                return out, None
            if t.kind == TEXT:
                self.advance()
                out.append(n.Text(t.pos, str(t.value)))
            elif t.kind == PRINT:
                self.advance()
                if self.tok.kind == END:
                    raise self.error("empty `{{ }}`", hint="put an expression inside, e.g. {{ inputs.name }}")
                expr = self.expression()
                self.expect_end("`{{ … }}`")
                out.append(n.Print(t.pos, expr))
            elif t.kind == TAG:
                self.advance()
                name = self.expect_name("a tag name after `{%`")
                if name.value in stops:
                    return out, name
                out.append(self.tag(t, name, stops))
            else:  # pragma: no cover - the lexer only yields the kinds above at this level
                raise self.error(f"unexpected {self.describe(t)}")

    def tag(self, start: Token, name: Token, outer: tuple[str, ...]) -> n.Node:
        word = str(name.value)
        if word == "if":
            return self.if_tag(start)
        if word == "for":
            return self.for_tag(start)
        if word == "set":
            var = self.expect_name("a variable name after `set`")
            self.expect_op("=", "after the variable name in `set`")
            expr = self.expression()
            self.expect_end("`{% set %}`")
            return n.Set(start.pos, str(var.value), expr)
        if word == "filter":
            return self.filter_tag(start)
        if word == "block":
            return self.block_tag(start)
        if word == "macro":
            return self.macro_tag(start)
        if word in _CLOSERS:
            raise self.error(f"`{{% {word} %}}` without a matching opening tag", name)
        if word in _UNSUPPORTED_TAGS:
            raise self.error(f"the `{word}` tag is not supported", name, _UNSUPPORTED_TAGS[word])
        import difflib

        close = difflib.get_close_matches(word, KNOWN_TAGS, n=1)
        hint = f"did you mean `{close[0]}`?" if close else "supported tags: " + ", ".join(KNOWN_TAGS)
        raise self.error(f"unknown tag `{word}`", name, hint)

    def if_tag(self, start: Token) -> n.Node:
        branches: list[tuple[n.Node, list[n.Node]]] = []
        cond = self.expression()
        self.expect_end("`{% if %}`")
        while True:
            body, stop = self.body(("elseif", "else", "endif"))
            branches.append((cond, body))
            if stop is None:
                raise self.error("`{% if %}` is never closed", start, "add `{% endif %}`")
            if stop.value == "elseif":
                cond = self.expression()
                self.expect_end("`{% elseif %}`")
                continue
            if stop.value == "else":
                self.expect_end("`{% else %}`")
                otherwise, stop = self.body(("endif",))
                if stop is None:
                    raise self.error("`{% if %}` is never closed", start, "add `{% endif %}`")
                self.expect_end("`{% endif %}`")
                return n.If(start.pos, branches, otherwise)
            self.expect_end("`{% endif %}`")
            return n.If(start.pos, branches, None)

    def for_tag(self, start: Token) -> n.Node:
        names = [str(self.expect_name("a loop variable after `for`").value)]
        if self.tok.is_op(","):
            self.advance()
            names.append(str(self.expect_name("a second loop variable").value))
        if not self.tok.is_name("in"):
            raise self.error(f"expected `in` in `{{% for %}}`, found {self.describe(self.tok)}")
        self.advance()
        iterable = self.expression()
        self.expect_end("`{% for %}`")
        body, stop = self.body(("else", "endfor"))
        if stop is None:
            raise self.error("`{% for %}` is never closed", start, "add `{% endfor %}`")
        otherwise = None
        if stop.value == "else":
            self.expect_end("`{% else %}`")
            otherwise, stop = self.body(("endfor",))
            if stop is None:
                raise self.error("`{% for %}` is never closed", start, "add `{% endfor %}`")
        self.expect_end("`{% endfor %}`")
        return n.For(start.pos, names, iterable, body, otherwise)

    def filter_tag(self, start: Token) -> n.Node:
        filters: list[n.Filter] = []
        placeholder = n.Literal(start.pos, None)
        while True:
            filters.append(self.filter_call(placeholder))
            if not self.tok.is_op("|"):
                break
            self.advance()
        self.expect_end("`{% filter %}`")
        body, stop = self.body(("endfilter",))
        if stop is None:
            raise self.error("`{% filter %}` is never closed", start, "add `{% endfilter %}`")
        self.expect_end("`{% endfilter %}`")
        return n.FilterBlock(start.pos, filters, body)

    def block_tag(self, start: Token) -> n.Node:
        name = self.block_name("after `block`")
        self.expect_end("`{% block %}`")
        body, stop = self.body(("endblock",))
        if stop is None:
            raise self.error(f"`{{% block {name} %}}` is never closed", start, "add `{% endblock %}`")
        if self.tok.kind != END:  # `{% endblock name %}` may repeat the name, as in Pebble
            closing = self.block_name("after `endblock`")
            if closing != name:
                raise self.error(f"`{{% endblock {closing} %}}` closes `{{% block {name} %}}`", stop,
                                 f"write `{{% endblock {name} %}}` or just `{{% endblock %}}`")
        self.expect_end("`{% endblock %}`")
        return n.Block(start.pos, name, body)

    def block_name(self, where: str) -> str:
        t = self.tok
        if t.kind == NAME:
            self.advance()
            return str(t.value)
        if t.kind == STRING and isinstance(t.value, list) and len(t.value) == 1 and isinstance(t.value[0], str):
            self.advance()
            return t.value[0]
        raise self.error(f"expected a block name {where}, found {self.describe(t)}")

    def macro_tag(self, start: Token) -> n.Node:
        name = self.expect_name("a macro name after `macro`")
        open_tok = self.expect_op("(", "after the macro name")
        params: list[tuple[str, n.Node | None]] = []
        while not self.tok.is_op(")"):
            if self.tok.kind in (END, EOF):
                raise self.error("unclosed `(`", open_tok, "add the missing `)`")
            param = str(self.expect_name("a parameter name in the macro").value)
            if any(param == p for p, _ in params):
                raise self.error(f"the parameter `{param}` is repeated in macro `{name.value}`")
            default = None
            if self.tok.is_op("="):
                self.advance()
                default = self.expression()
            params.append((param, default))
            if self.tok.is_op(","):
                self.advance()
            elif not self.tok.is_op(")"):
                raise self.error(f"expected `,` or `)` in the parameters, found {self.describe(self.tok)}")
        self.advance()
        self.expect_end("`{% macro %}`")
        body, stop = self.body(("endmacro",))
        if stop is None:
            raise self.error(f"`{{% macro {name.value} %}}` is never closed", start, "add `{% endmacro %}`")
        if self.tok.is_name(str(name.value)):
            self.advance()
        self.expect_end("`{% endmacro %}`")
        if name.value in self.macros:
            raise self.error(f"the macro `{name.value}` is defined twice", name, "give each macro its own name")
        macro = n.Macro(start.pos, str(name.value), params, body)
        self.macros[macro.name] = macro
        return macro

    # -- expressions ---------------------------------------------------------------------------

    def expression(self, min_prec: int = 0) -> n.Node:
        saved = self.depth
        self.depth += 1
        try:
            t = self.tok
            if (t.kind == OP and t.value in ("-", "+")) or t.is_name("not"):
                unary = str(self.advance().value)
                operand = self.expression(UNARY[unary])
                left: n.Node = n.Unary(t.pos, unary, operand)
            else:
                left = self.postfix(self.primary())
            self.nest(left)
            while True:
                t = self.tok
                op = self._binary_op(t)
                if op is None or BINARY[op] < min_prec:
                    break
                self.advance()
                if op == "|":
                    left = self.filter_call(left)
                elif op == "is":
                    left = self.test_call(left, t)
                else:
                    right = self.expression(BINARY[op] + 1)
                    left = n.Binary(t.pos, op, left, right)
                self.depth += 1
                self.nest(left)
            if min_prec == 0 and self.tok.is_op("?"):
                q = self.advance()
                then = self.expression()
                self.expect_op(":", "in the `? :` expression")
                otherwise = self.expression()
                left = n.Ternary(q.pos, left, then, otherwise)
            return left
        finally:
            self.depth = saved

    def _binary_op(self, t: Token) -> str | None:
        if t.kind == OP and t.value in BINARY:
            return str(t.value)
        if t.kind == NAME and t.value in _WORD_OPS:
            return str(t.value)
        return None

    def filter_call(self, value: n.Node) -> n.Filter:
        name = self.expect_name("a filter name after `|`")
        args, kwargs = self.arguments() if self.tok.is_op("(") else ([], {})
        return n.Filter(name.pos, value, str(name.value), args, kwargs)

    def test_call(self, value: n.Node, is_tok: Token) -> n.Node:
        negated = False
        if self.tok.is_name("not"):
            self.advance()
            negated = True
        t = self.tok
        if t.kind != NAME:
            raise self.error(f"expected a test name after `is`, found {self.describe(t)}",
                             hint="e.g. `is defined`, `is null`, `is empty`")
        self.advance()
        args: list[n.Node] = []
        if self.tok.is_op("("):
            args, _ = self.arguments()
        return n.Test(t.pos, value, str(t.value), args, negated)

    def arguments(self) -> tuple[list[n.Node], dict[str, n.Node]]:
        open_tok = self.expect_op("(", "")
        args: list[n.Node] = []
        kwargs: dict[str, n.Node] = {}
        while not self.tok.is_op(")"):
            if self.tok.kind in (END, EOF):
                raise self.error("unclosed `(`", open_tok, "add the missing `)`")
            if self.tok.kind == NAME and self.peek().is_op("="):
                key = str(self.advance().value)
                self.advance()
                kwargs[key] = self.expression()
            else:
                if kwargs:
                    raise self.error("a positional argument cannot follow a named one")
                args.append(self.expression())
            if self.tok.is_op(","):
                self.advance()
            elif not self.tok.is_op(")"):
                raise self.error(f"expected `,` or `)` in the arguments, found {self.describe(self.tok)}")
        self.advance()
        return args, kwargs

    def primary(self) -> n.Node:
        t = self.tok
        if t.kind == NUMBER:
            self.advance()
            return n.Literal(t.pos, t.value)
        if t.kind == STRING:
            self.advance()
            return self.string(t)
        if t.kind == NAME:
            self.advance()
            word = str(t.value)
            if word in _CONSTANTS:
                return n.Literal(t.pos, _CONSTANTS[word])
            if self.tok.is_op("("):
                args, kwargs = self.arguments()
                return n.Call(t.pos, word, args, kwargs)
            return n.Name(t.pos, word)
        if t.is_op("("):
            self.advance()
            inner = self.expression()
            self.expect_op(")", "to close `(`")
            return inner
        if t.is_op("["):
            self.advance()
            items: list[n.Node] = []
            while not self.tok.is_op("]"):
                if self.tok.kind in (END, EOF):
                    raise self.error("unclosed `[`", t, "add the missing `]`")
                items.append(self.expression())
                if self.tok.is_op(","):
                    self.advance()
                elif not self.tok.is_op("]"):
                    raise self.error(f"expected `,` or `]` in the list, found {self.describe(self.tok)}")
            self.advance()
            return n.ListLit(t.pos, items)
        if t.is_op("{"):
            self.advance()
            pairs: list[tuple[n.Node, n.Node]] = []
            while not self.tok.is_op("}"):
                if self.tok.kind in (END, EOF):
                    raise self.error("unclosed `{`", t, "add the missing `}`")
                key = self.expression()
                self.expect_op(":", "between a key and its value in the map")
                pairs.append((key, self.expression()))
                if self.tok.is_op(","):
                    self.advance()
                elif not self.tok.is_op("}"):
                    raise self.error(f"expected `,` or `}}` in the map, found {self.describe(self.tok)}")
            self.advance()
            return n.MapLit(t.pos, pairs)
        if t.kind in (END, EOF):
            raise self.error(f"an expression is missing before {self.describe(t)}")
        raise self.error(f"unexpected {self.describe(t)}", hint="check the expression's syntax")

    def string(self, t: Token) -> n.Node:
        parts = t.value
        assert isinstance(parts, list)
        if len(parts) == 1 and isinstance(parts[0], str):
            return n.Literal(t.pos, parts[0])
        nodes: list[n.Node] = []
        for part in parts:
            if isinstance(part, str):
                nodes.append(n.Literal(t.pos, part))
            else:
                _, tokens, pos = part
                sub = Parser(self.src, tokens)
                sub.depth = self.depth
                sub.macros = self.macros
                if sub.tok.kind == EOF:
                    raise self.error("empty `#{}` in a string", Token(OP, "#", pos))
                nodes.append(sub.expression())
                if sub.tok.kind != EOF:
                    raise sub.error(f"unexpected {sub.describe(sub.tok)} in `#{{…}}`")
        return n.Interpolated(t.pos, nodes)

    def postfix(self, node: n.Node) -> n.Node:
        while True:
            t = self.tok
            if t.is_op("."):
                self.advance()
                name = self.tok
                if name.kind == NAME:
                    self.advance()
                    if self.tok.is_op("("):
                        args, kwargs = self.arguments()
                        if kwargs:
                            raise self.error("methods take no named arguments", name)
                        node = n.MethodCall(name.pos, node, str(name.value), args)
                    else:
                        node = n.Attr(name.pos, node, str(name.value))
                elif name.kind == NUMBER and isinstance(name.value, int):
                    self.advance()
                    node = n.Attr(name.pos, node, str(name.value))
                else:
                    raise self.error(f"expected a name after `.`, found {self.describe(name)}")
            elif t.is_op("["):
                self.advance()
                key = self.expression()
                self.expect_op("]", "to close `[`")
                node = n.Item(t.pos, node, key)
            else:
                return node
            self.depth += 1
            self.nest(node)


def parse(src: str, tokens: list[Token]) -> tuple[list[n.Node], dict[str, n.Macro]]:
    """The template's statements, and the macros it defines (callable from anywhere in it)."""
    parser = Parser(src, tokens)
    return parser.template(), parser.macros
