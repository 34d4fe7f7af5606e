#!/bin/sh
# Shell entry point: prints each argument on its own line, and a shell-safe hyperparameter.
for arg in "$@"; do
    printf 'arg:%s\n' "$arg"
done
printf 'lr:%s\n' "$SM_HP_LEARNING_RATE"
