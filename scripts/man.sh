#!/usr/bin/env bash
# Regenerates docs/man/sockbench.1 from the command-line definitions (argument-parser's
# GenerateManual plugin; it builds sockbench in release mode). ManualTests fails when a
# subcommand or option is missing from the committed page, so rerun this after changing flags.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package --allow-writing-to-package-directory generate-manual --date "${MAN_DATE:-$(date -u +%Y-%m-%d)}" --authors "sockbench maintainers"
cp .build/plugins/GenerateManual/outputs/sockbench/sockbench.1 docs/man/sockbench.1
echo "man: wrote docs/man/sockbench.1 (read it with: man -l docs/man/sockbench.1)"
