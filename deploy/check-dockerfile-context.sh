#!/usr/bin/env bash
# Proves, without Docker, that the Dockerfile's build stage copies every file its build needs:
# builds the context `docker build` would send (the repository minus .dockerignore), replays the
# build stage's WORKDIR and COPY lines into an empty directory, then runs the stage's
# `cargo build` line there as `cargo check` (same flags but --release, sharing the repository's
# target directory for speed). A path the image would miss fails here the same way.
#
# Usage: deploy/check-dockerfile-context.sh [DOCKERFILE]   (default deploy/Dockerfile)
# The context is the repository root; its ignore file is DOCKERFILE.dockerignore when that exists
# (as BuildKit does), else .dockerignore. DOCKERFILE_CHECK_DIR overrides the scratch directory.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="${1:-$root/deploy/Dockerfile}"
ignore_file="$root/.dockerignore"
[[ -f "$dockerfile.dockerignore" ]] && ignore_file="$dockerfile.dockerignore"
# A fixed place (per checkout), so cargo's fingerprints are reused from one run to the next.
work="${DOCKERFILE_CHECK_DIR:-${TMPDIR:-/tmp}/campaign-sync-dockerfile-check-$(printf '%s' "$root" | cksum | cut -d' ' -f1)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

fail() { echo "check-dockerfile-context: $*" >&2; exit 1; }

# --- the context: every file not matched by .dockerignore --------------------------------------
patterns=()
if [[ -f "$ignore_file" ]]; then
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" == !* ]] && fail ".dockerignore exception '$line' is not supported by this check"
    line="${line#/}"; line="${line%/}"
    patterns+=("$line")
  done < "$ignore_file"
fi

# Whether a context-relative path, or one of its parent directories, matches a pattern. Shell
# globs let `*` match `/` too, so this can only exclude more than Docker does, never less.
ignored() {
  local path="$1" prefix pattern
  for pattern in "${patterns[@]}"; do
    prefix="$path"
    while :; do
      # shellcheck disable=SC2053 # the pattern is a glob on purpose
      [[ "$prefix" == $pattern ]] && return 0
      [[ "$prefix" == */* ]] || break
      prefix="${prefix%/*}"
    done
  done
  return 1
}

copy_context() {
  local dir="$1" entry rel
  for entry in "$root/$dir"* "$root/$dir".[!.]* "$root/$dir"..?*; do
    [[ -e "$entry" || -L "$entry" ]] || continue
    rel="${entry#"$root/"}"
    ignored "$rel" && continue
    if [[ -d "$entry" && ! -L "$entry" ]]; then
      mkdir -p "$work/context/$rel"
      copy_context "$rel/"
    else
      cp -p "$entry" "$work/context/$rel"
    fi
  done
}

rm -rf "$work"
mkdir -p "$work/context" "$work/image"
copy_context ""

# --- the build stage: WORKDIR and COPY lines up to the second FROM ------------------------------
workdir="/"
cargo_line=""
stage=0
logical=""
while IFS= read -r raw || [[ -n "$raw" ]]; do
  if [[ "$raw" == *\\ ]]; then logical+="${raw%\\} "; continue; fi
  logical+="$raw"
  line="$logical"; logical=""
  line="${line#"${line%%[![:space:]]*}"}"
  [[ -z "$line" || "$line" == \#* ]] && continue
  read -r instruction rest <<< "$line"
  case "${instruction^^}" in
    FROM)
      stage=$((stage + 1))
      [[ $stage -gt 1 ]] && break
      ;;
    WORKDIR)
      [[ "$rest" == /* ]] && workdir="$rest" || workdir="${workdir%/}/$rest"
      mkdir -p "$work/image$workdir"
      ;;
    COPY|ADD)
      [[ "$rest" == \[* ]] && fail "JSON-form $instruction is not supported: $line"
      read -r -a args <<< "$rest"
      sources=()
      for arg in "${args[@]}"; do
        case "$arg" in
          --from=*) fail "COPY --from in the build stage is not supported: $line" ;;
          --*) ;;
          *) sources+=("$arg") ;;
        esac
      done
      [[ ${#sources[@]} -ge 2 ]] || fail "cannot read: $line"
      dest="${sources[-1]}"; unset 'sources[-1]'
      [[ "$dest" == /* ]] || dest="${workdir%/}/$dest"
      [[ "$dest" == */ || "$dest" == */. || ${#sources[@]} -gt 1 ]] && dest_is_dir=1 || dest_is_dir=0
      for source in "${sources[@]}"; do
        source="${source#./}"
        matches=()
        if [[ "$source" == "." || -z "$source" ]]; then
          matches=("$work/context")
        else
          shopt -s nullglob
          # shellcheck disable=SC2206 # the source may be a glob on purpose
          candidates=("$work/context/"$source)
          shopt -u nullglob
          # A word without glob characters stays as written even when nothing is there.
          for candidate in "${candidates[@]}"; do
            if [[ -e "$candidate" ]]; then matches+=("$candidate"); fi
          done
        fi
        # Docker fails on a source missing from the context: so do we.
        [[ ${#matches[@]} -gt 0 ]] || fail "$line: '$source' is not in the build context (missing, or excluded by .dockerignore)"
        for match in "${matches[@]}"; do
          if [[ -d "$match" ]]; then
            mkdir -p "$work/image$dest"
            cp -pR "$match/." "$work/image$dest/"
          elif [[ $dest_is_dir -eq 1 || -d "$work/image$dest" ]]; then
            mkdir -p "$work/image$dest"
            cp -p "$match" "$work/image$dest/"
          else
            mkdir -p "$(dirname "$work/image$dest")"
            cp -p "$match" "$work/image$dest"
          fi
        done
      done
      ;;
    RUN)
      [[ "$rest" == *"cargo build"* ]] && cargo_line="$rest" && cargo_dir="$workdir"
      ;;
  esac
done < "$dockerfile"

[[ -n "$cargo_line" ]] || fail "no 'RUN cargo build' line in the build stage of $dockerfile"
check="${cargo_line/cargo build/cargo check}"
check="${check//--release/}"
echo "check-dockerfile-context: $check (in a copy of what $(basename "$dockerfile") copies)"
cd "$work/image$cargo_dir"
eval "$check"
echo "check-dockerfile-context: the build stage's files are enough"
