# The same script with PYTHONMALLOC=malloc: every Python object, small ones
# included, comes from malloc, and so from the pools.
. "$(dirname "${BASH_SOURCE[0]}")/python3.sh"
export PYTHONMALLOC=malloc
