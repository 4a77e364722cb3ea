# Shared by the A/B scripts (sourced, not run): the order of the things compared in one round.

# Sets `order` to the arguments after the round number $1: in the order given in odd rounds,
# reversed in even ones. The first of a round ran slower on this machine (a ratio of 0.87 one
# way was 1.05 the other), so each goes first half the time.
round_order() {
  local r=$1 b
  shift
  order=("$@")
  if [ $((r % 2)) = 0 ]; then
    order=()
    for b in "$@"; do order=("$b" "${order[@]}"); done
  fi
}
