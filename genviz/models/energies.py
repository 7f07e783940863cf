"""Unnormalised 2-D targets p(z) ~ exp(-U(z)): Rezende & Mohamed's U1-U4 (docs/references.md) and
user-typed expressions in z1, z2, parsed into torch operations without eval."""
from __future__ import annotations

import ast
import math
import operator
from typing import Callable

import torch

from genviz.safeio import InputError


def _w1(z):
    return torch.sin(2 * math.pi * z[:, 0] / 4)


def _w2(z):
    return 3 * torch.exp(-0.5 * ((z[:, 0] - 1) / 0.6) ** 2)


def _w3(z):
    return 3 * torch.sigmoid((z[:, 0] - 1) / 0.3)


def u1(z):
    r = z.norm(dim=1)
    a = -0.5 * ((z[:, 0] - 2) / 0.6) ** 2
    b = -0.5 * ((z[:, 0] + 2) / 0.6) ** 2
    return 0.5 * ((r - 2) / 0.4) ** 2 - torch.logsumexp(torch.stack([a, b]), 0)


# U2-U4 are improper: exp(-U) does not decay along z1, so no flow can fit them and no KL is finite.
# Like the paper's figures we keep them to the window |z1| <= 4, with a steep quadratic wall
# (scale 0.2) outside it; inside the window the formulas are exactly Rezende & Mohamed's.
WINDOW, WALL = 4.0, 0.2


def _wall(z):
    return 0.5 * (torch.relu(z[:, 0].abs() - WINDOW) / WALL) ** 2


def u2(z):
    return 0.5 * ((z[:, 1] - _w1(z)) / 0.4) ** 2 + _wall(z)


def u3(z):
    a = -0.5 * ((z[:, 1] - _w1(z)) / 0.35) ** 2
    b = -0.5 * ((z[:, 1] - _w1(z) + _w2(z)) / 0.35) ** 2
    return -torch.logsumexp(torch.stack([a, b]), 0) + _wall(z)


def u4(z):
    a = -0.5 * ((z[:, 1] - _w1(z)) / 0.4) ** 2
    b = -0.5 * ((z[:, 1] - _w1(z) + _w3(z)) / 0.35) ** 2
    return -torch.logsumexp(torch.stack([a, b]), 0) + _wall(z)


ENERGIES: dict[str, Callable] = {"U1": u1, "U2": u2, "U3": u3, "U4": u4}


class ExpressionError(InputError):
    pass


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS = {"sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "exp": torch.exp, "log": torch.log,
          "sqrt": torch.sqrt, "tanh": torch.tanh, "abs": torch.abs, "sigmoid": torch.sigmoid,
          "softplus": torch.nn.functional.softplus}
_CONSTS = {"pi": math.pi, "e": math.e}


def parse_energy(text: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """'0.5*((z1**2 + z2**2 - 4)/0.4)**2' -> U(z). Only numbers, z1, z2, pi, e, + - * / **,
    parentheses and the functions sin cos tan exp log sqrt tanh abs sigmoid softplus are allowed."""
    if len(text) > 500:
        raise ExpressionError("the expression is too long (at most 500 characters)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg}") from None

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            v = float(node.value)
            return lambda z: torch.full((len(z),), v, dtype=z.dtype, device=z.device)
        if isinstance(node, ast.Name):
            if node.id == "z1":
                return lambda z: z[:, 0]
            if node.id == "z2":
                return lambda z: z[:, 1]
            if node.id in _CONSTS:
                v = _CONSTS[node.id]
                return lambda z: torch.full((len(z),), v, dtype=z.dtype, device=z.device)
            raise ExpressionError(f"unknown name '{node.id}' (use z1, z2, pi, e)")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op, a, b = _BINARY[type(node.op)], build(node.left), build(node.right)
            return lambda z: op(a(z), b(z))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            op, a = _UNARY[type(node.op)], build(node.operand)
            return lambda z: op(a(z))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in _FUNCS:
                raise ExpressionError(f"unknown function '{node.func.id}' ({', '.join(sorted(_FUNCS))})")
            if len(node.args) != 1:
                raise ExpressionError(f"{node.func.id}() takes one argument")
            fn, a = _FUNCS[node.func.id], build(node.args[0])
            return lambda z: fn(a(z))
        raise ExpressionError(f"'{ast.unparse(node) if hasattr(ast, 'unparse') else node}' is not allowed here")

    fn = build(tree)
    probe = fn(torch.zeros(2, 2))
    if probe.shape != (2,):
        raise ExpressionError("the expression must give one number per point")
    return fn


def make_energy(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    return ENERGIES[name] if name in ENERGIES else parse_energy(name)
