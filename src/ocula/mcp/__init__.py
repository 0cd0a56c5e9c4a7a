"""`ocula mcp`: ocula's tasks as Model Context Protocol tools, so that assistants can use them.

A shell like the command line and the HTTP API: tools are made from the task table (every
task offered over HTTP that takes an image; a task registered later appears here too), plus
hand-made tools where a task needs more (search and index over the server's index, generate
into the output folder). Paths are checked against the folders the user allows
(``--allow-dir``), arguments against the task's options as the CLI checks them, and each
result comes back as the task's typed result (JSON) plus the CLI's short text. Transports:
stdio, and streamable HTTP on loopback with the same API-key rule as ``ocula serve``."""
