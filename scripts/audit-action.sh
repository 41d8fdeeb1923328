#!/usr/bin/env bash
# The shell step of eda's GitHub Action (action.yml), usable from any CI: run `eda audit --format sarif`,
# write the SARIF file, say what it found, and end with eda's exit code.
#
# Environment (all optional):
#   EDA_REGIONS, EDA_ACCOUNTS, EDA_ROLE_NAME  the scopes (eda reads them itself: --regions, --accounts, --role-name)
#   EDA_CONFIG      the pipeline file (--config); default: ./eda.yaml when it exists
#   EDA_FAIL_ON     error (default) | warning
#   EDA_SARIF       where to write the SARIF (default: eda-audit.sarif)
#   EDA_ALLOW_EMPTY true: nothing to audit is a pass (--allow-empty)
#   EDA_COMMAND     how to run eda (default: eda)
#   EDA_DEFER_EXIT  true: exit 0 and leave the code in $GITHUB_OUTPUT (exit-code), so that the SARIF is
#                   uploaded before a later step fails the job with it (what action.yml does)
#   GITHUB_OUTPUT   when set, receives exit-code=N, sarif-file=PATH and sarif-written=true|false
#
# Exit codes are eda's: 0 pass, 1 a finding at or above EDA_FAIL_ON, 2 usage, 3 AWS (no scope answered),
# 4 partial (a scope or a service could not be read), 5 nothing to audit.
set -uo pipefail

sarif="${EDA_SARIF:-eda-audit.sarif}"
fail_on="${EDA_FAIL_ON:-error}"
read -r -a eda <<< "${EDA_COMMAND:-eda}"
args=(audit --format sarif --fail-on "$fail_on")
if [[ -n "${EDA_CONFIG:-}" ]]; then
    args+=(--config "$EDA_CONFIG")
fi
if [[ "${EDA_ALLOW_EMPTY:-false}" == "true" ]]; then
    args+=(--allow-empty)
fi
# An input left empty is no option at all (eda takes an empty variable as unset, but say so plainly).
for name in EDA_REGIONS EDA_ACCOUNTS EDA_ROLE_NAME; do
    if [[ -z "${!name:-}" ]]; then
        unset "$name"
    fi
done

tmp="$(mktemp)"
"${eda[@]}" "${args[@]}" > "$tmp"
code=$?
written=false
if [[ -s "$tmp" ]]; then  # 0, 1, 4 and 5 write a document; 2, 3 and 70 only an error on stderr
    mv "$tmp" "$sarif"
    written=true
else
    rm -f "$tmp"
fi

case "$code" in
    0) verdict="passed" ;;
    1) verdict="failed: a finding at or above '$fail_on'" ;;
    2) verdict="failed: bad options (exit 2)" ;;
    3) verdict="failed: AWS could not be read (exit 3)" ;;
    4) verdict="partial: some scope or service could not be read (exit 4)" ;;
    5) verdict="empty: nothing to audit (exit 5; EDA_ALLOW_EMPTY=true if that is expected)" ;;
    *) verdict="failed: exit $code" ;;
esac
if [[ "$written" == true ]]; then
    echo "eda audit $verdict; SARIF in $sarif" >&2
else
    echo "eda audit $verdict; no SARIF was written" >&2
fi

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "exit-code=$code"
        echo "sarif-file=$sarif"
        echo "sarif-written=$written"
    } >> "$GITHUB_OUTPUT"
fi
if [[ "${EDA_DEFER_EXIT:-false}" == "true" ]]; then
    exit 0
fi
exit "$code"
