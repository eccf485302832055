"""Binds: environment and file locations, flat and namespaced names, masking and redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naftiko_runtime.binds import Redactor, Secret, parse_dotenv, resolve_binds
from naftiko_runtime.errors import BindingError
from naftiko_runtime.spec.loader import load_text

CAP = """\
naftiko: 1.0.0-alpha2
info: {{label: b, description: d}}
binds:
{binds}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://h
    resources:
    - name: r
      path: /r
      operations:
      - name: op
"""


def doc(binds: str, tmp_path: Path) -> object:
    path = tmp_path / "cap.yaml"
    path.write_text(CAP.format(binds=binds))
    return load_text(path.read_text(), str(path), base_dir=tmp_path).require()


def test_env_binds_are_flat_and_namespaced(tmp_path: Path) -> None:
    d = doc("- namespace: env\n  keys:\n    TOKEN: MY_TOKEN_VAR", tmp_path)
    b = resolve_binds(d, {"MY_TOKEN_VAR": "s3cr3t-value"}, base_dir=tmp_path)  # type: ignore[arg-type]
    assert b.flat["TOKEN"] == "s3cr3t-value"
    assert b.namespaced["env"]["TOKEN"] == "s3cr3t-value"
    assert isinstance(b.flat["TOKEN"], Secret)


def test_missing_env_variable_names_key_and_bind_never_a_value(tmp_path: Path) -> None:
    d = doc("- namespace: env\n  keys:\n    TOKEN: MY_TOKEN_VAR\n    OTHER: OTHER_VAR", tmp_path)
    with pytest.raises(BindingError) as info:
        resolve_binds(d, {"OTHER_VAR": "present-secret"}, base_dir=tmp_path)  # type: ignore[arg-type]
    message = str(info.value)
    assert "bind 'env'" in message and "MY_TOKEN_VAR is not set" in message and "$.binds[0]" in message
    assert "present-secret" not in message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("secrets.yaml", "API_TOKEN: from-yaml\n"),
        ("secrets.json", json.dumps({"API_TOKEN": "from-yaml"})),
        ("secrets.env", "# comment\nexport API_TOKEN='from-yaml'\n"),
    ],
)
def test_file_binds_relative_to_the_capability_folder(tmp_path: Path, name: str, content: str) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / name).write_text(content)
    d = doc(
        f"- namespace: vault\n  location: file:///./shared/{name}\n  keys:\n    TOKEN: API_TOKEN", tmp_path
    )
    b = resolve_binds(d, {}, base_dir=tmp_path)  # type: ignore[arg-type]
    assert b.flat["TOKEN"] == "from-yaml" and b.namespaced["vault"]["TOKEN"] == "from-yaml"


def test_file_bind_errors(tmp_path: Path) -> None:
    d = doc("- namespace: vault\n  location: file://./nope.yaml\n  keys:\n    TOKEN: API_TOKEN", tmp_path)
    with pytest.raises(BindingError, match="nope.yaml does not exist"):
        resolve_binds(d, {}, base_dir=tmp_path)  # type: ignore[arg-type]
    (tmp_path / "s.yaml").write_text("OTHER: secret-other\n")
    d = doc("- namespace: vault\n  location: file://./s.yaml\n  keys:\n    TOKEN: API_TOKEN", tmp_path)
    with pytest.raises(BindingError) as info:
        resolve_binds(d, {}, base_dir=tmp_path)  # type: ignore[arg-type]
    assert "key 'API_TOKEN' (for TOKEN) is not in s.yaml" in str(info.value)
    assert "secret-other" not in str(info.value)
    (tmp_path / "bad.yaml").write_text("TOKEN: [unclosed secret-stuff\n")
    d = doc("- namespace: vault\n  location: file://./bad.yaml\n  keys:\n    TOKEN: TOKEN", tmp_path)
    with pytest.raises(BindingError) as info:
        resolve_binds(d, {}, base_dir=tmp_path)  # type: ignore[arg-type]
    assert "not valid YAML/JSON" in str(info.value) and "secret-stuff" not in str(info.value)


def test_unsupported_location_scheme(tmp_path: Path) -> None:
    d = doc("- namespace: v\n  location: vault://kv/app\n  keys:\n    TOKEN: token", tmp_path)
    with pytest.raises(BindingError, match=r"unsupported location scheme 'vault://'"):
        resolve_binds(d, {}, base_dir=tmp_path)  # type: ignore[arg-type]


def test_secrets_are_masked_and_redacted() -> None:
    secret = Secret("abcd-1234/xyz")
    assert repr(secret) == "Secret('***')" and "abcd" not in repr({"k": secret})
    redact = Redactor([secret, "ab"])
    assert redact("token abcd-1234/xyz and abcd-1234%2Fxyz; ab stays") == "token *** and ***; ab stays"


def test_parse_dotenv() -> None:
    text = "A=1\nexport B=\"two words\"\nC=three # comment\n\n# x\nD='q#q'\n"
    assert parse_dotenv(text) == {"A": "1", "B": "two words", "C": "three", "D": "q#q"}
