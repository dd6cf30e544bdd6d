"""The evaluation harness: agents × environments × models × seeds, run, scored and reported.

    agentzoo eval --env humaneval,gsm8k --agent tool-calling,codeact --model oracle --seeds 3 --out results/
"""
