#!/usr/bin/env bash
# Submits an fmnist-grid search to Slurm: one job (slurm/fmnist-grid.sbatch), or a job
# array of shards (slurm/fmnist-grid-array.sbatch) plus a merge job
# (slurm/fmnist-grid-merge.sbatch) that starts when every shard has succeeded.
set -u
here=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<USAGE
usage: slurm/submit.sh GRID.yaml [options] [-- more fmnist-grid options]

Submits one job running the whole search on --ntasks MPI ranks (default), or with
--array N a job array of N shards (fmnist-grid --shard I/N, one process each) and a
merge job (fmnist-grid report) that runs after all of them succeeded.

options:
  -o, --out DIR     results directory (default results/<grid name>-<UTC timestamp>);
                    submitting again with the same DIR resumes that search
  -a, --array N     job-array mode with N shards
  -n, --ntasks K    MPI ranks of the single job, or of each shard (default: the
                    #SBATCH lines: 8 for the single job, 1 per shard)
  -t, --time T      time limit of the single job or of each shard (sbatch --time)
  -s, --sbatch OPT  pass OPT to every sbatch call (repeatable), e.g. --sbatch=--partition=cpu
  -h, --help        this help

Prints one line per job to stdout: "job ID" (single job), or "array ID" and "merge ID";
then "out DIR". The logs go next to DIR: DIR-<job id>.out, DIR-<array id>_<shard>.out,
DIR-merge-<job id>.out.

fmnist-grid is taken from \$FMNIST_GRID_BUILD (a build directory), else the PATH, else
$(dirname "$here")/build. Everything after -- is passed to fmnist-grid
(e.g. -- --subset 6000 --grace 30).

To re-run failed shards of an array (they resume) and merge again:
  sbatch --array=3,5 --export=ALL,FMNIST_GRID_SHARDS=N slurm/fmnist-grid-array.sbatch GRID DIR
  sbatch --dependency=afterok:<that job id> slurm/fmnist-grid-merge.sbatch DIR
USAGE
}

die() { echo "submit.sh: $*" >&2; exit 2; }

grid="" out="" array="" ntasks="" time_limit=""
sbatch_opts=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -o|--out|-a|--array|-n|--ntasks|-t|--time|-s|--sbatch)
      [ $# -ge 2 ] || die "$1 needs a value"
      opt=$1 val=$2; shift 2 ;;
    --out=*|--array=*|--ntasks=*|--time=*|--sbatch=*)
      opt=${1%%=*} val=${1#*=}; shift ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help; fmnist-grid options go after --)" ;;
    *) [ -z "$grid" ] || die "one grid file only ('$grid', '$1')"; grid=$1; shift; continue ;;
  esac
  case $opt in
    -o|--out) out=$val ;;
    -a|--array) array=$val ;;
    -n|--ntasks) ntasks=$val ;;
    -t|--time) time_limit=$val ;;
    -s|--sbatch) sbatch_opts+=("$val") ;;
  esac
done
[ -n "$grid" ] || { usage >&2; exit 2; }
[ -f "$grid" ] || die "no grid file '$grid'"
case $array in ''|[1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]) ;; *) die "--array: '$array' is not a number of shards 1..9999" ;; esac
case $ntasks in ''|[1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]) ;; *) die "--ntasks: '$ntasks' is not a number of tasks" ;; esac
command -v sbatch >/dev/null 2>&1 || die "sbatch not found: is this a Slurm login node?"

if [ -z "$out" ]; then
  # The program's own default, results/<grid name>-<UTC timestamp>, fixed here so that a
  # requeued job and the merge job find the same directory. The name is only used if it
  # is a valid grid name; otherwise the file name stands in.
  name=$(sed -n 's/^name:[[:space:]]*\([A-Za-z0-9_.-]\{1,63\}\)[[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$grid" | head -1)
  [ -n "$name" ] || name=$(basename "${grid%.*}")
  out=results/$name-$(date -u +%Y%m%dT%H%M%SZ)
fi
# Absolute paths: the jobs may start in another directory (sbatch --chdir).
grid=$(realpath -- "$grid") || die "cannot resolve '$grid'"
out=$(realpath -m -- "$out") || die "cannot resolve '$out'"
mkdir -p -- "$(dirname "$out")" || die "cannot create the parent of '$out'"

if [ -z "${FMNIST_GRID_BUILD:-}" ] && ! command -v fmnist-grid >/dev/null 2>&1 &&
   [ -x "$(dirname "$here")/build/fmnist-grid" ]; then
  FMNIST_GRID_BUILD=$(dirname "$here")/build
  export FMNIST_GRID_BUILD
fi

common=("${sbatch_opts[@]}")
[ -n "$time_limit" ] && common+=(--time="$time_limit")
[ -n "$ntasks" ] && common+=(--ntasks="$ntasks")

# submit ARGS...: sbatch --parsable, prints the job id.
submit() {
  local r
  r=$(sbatch --parsable "$@") || { echo "submit.sh: sbatch failed" >&2; return 1; }
  echo "${r%%;*}"
}

if [ -z "$array" ]; then
  job=$(submit "${common[@]}" --output="$out-%j.out" \
        "$here/fmnist-grid.sbatch" "$grid" "$out" "$@") || exit 1
  echo "job $job"
else
  # FMNIST_GRID_SHARDS is exported so that the shard count never depends on how the array
  # is written; the merge job gets only the user's sbatch options (not --time/--ntasks).
  export FMNIST_GRID_SHARDS=$array
  arr=$(submit "${common[@]}" --array="0-$((array - 1))" --output="$out-%A_%a.out" \
        "$here/fmnist-grid-array.sbatch" "$grid" "$out" "$@") || exit 1
  echo "array $arr"
  # The fmnist-grid options that matter to `report` go to the merge job too.
  merge_args=()
  while [ $# -gt 0 ]; do
    case $1 in
      --no-refit|-q|--quiet|--data=*|--threads=*) merge_args+=("$1") ;;
      -d|--data|-t|--threads) [ $# -ge 2 ] && { merge_args+=("$1" "$2"); shift; } ;;
    esac
    shift
  done
  merge=$(submit "${sbatch_opts[@]}" --dependency="afterok:$arr" --kill-on-invalid-dep=yes \
          --output="$out-merge-%j.out" "$here/fmnist-grid-merge.sbatch" "$out" "${merge_args[@]}") || {
    echo "submit.sh: the array $arr is queued but its merge job is not; run" \
         "sbatch --dependency=afterok:$arr $here/fmnist-grid-merge.sbatch $out" >&2
    exit 1
  }
  echo "merge $merge"
fi
echo "out $out"
