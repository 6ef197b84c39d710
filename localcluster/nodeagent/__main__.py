"""``python -m localcluster.nodeagent``: run the node agent until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib

from localcluster.nodeagent import agent


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localcluster.nodeagent", description=__doc__)
    parser.add_argument("--kubeconfig", type=pathlib.Path, required=True)
    parser.add_argument("--state-dir", type=pathlib.Path, required=True)
    parser.add_argument("--node-name", default="local-node")
    parser.add_argument(
        "--kubelet-port", type=int, default=0, help="log server port (0 = any free)"
    )
    parser.add_argument(
        "--tool-dir",
        type=pathlib.Path,
        action="append",
        help="a directory of tools on the movers' PATH (repeatable; default: cached restic, kopia)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    asyncio.run(
        agent.main(
            kubeconfig=arguments.kubeconfig,
            state_dir=arguments.state_dir,
            node_name=arguments.node_name,
            kubelet_port=arguments.kubelet_port,
            tool_dirs=tuple(arguments.tool_dir or agent.default_tool_dirs()),
        )
    )


if __name__ == "__main__":
    main()
