"""``naftiko serve``: load capability files and run every exposes adapter on its port."""

from __future__ import annotations

import argparse


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="capability files or folders of them")
    parser.add_argument("--host", default=None, help="interface to listen on when an adapter sets no address "
                        "(default 127.0.0.1)")
    parser.add_argument("--port", action="append", default=[], metavar="NAMESPACE=PORT",
                        help="listen on PORT for adapter NAMESPACE (0 picks a free port); repeatable")
    parser.add_argument("--upstream", action="append", default=[], metavar="NAMESPACE=URL",
                        help="send consumed namespace NAMESPACE to URL instead of its baseUri; repeatable")
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE",
                        help="load KEY=value lines into the environment before binds resolve")
    parser.add_argument("--strict", action="store_true", help="refuse to start on validation warnings")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def serve_command(args: argparse.Namespace) -> int:
    raise NotImplementedError("naftiko serve is being built")
