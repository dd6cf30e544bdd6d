def forward(self, task):
    # Self-consistency: several chains of thought sampled at a higher temperature, then a majority vote.
    from collections import Counter

    instruction = "Think the problem through step by step, then give your answer."
    n = 5  # chains of thought to sample
    solvers = [LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent", temperature=0.8) for _ in range(n)]
    answers = []
    for solver in solvers:
        thinking, answer = solver([task], instruction)
        answers.append(answer.content)
    # The answer given most often wins; a tie goes to the one given first.
    return Counter(answers).most_common(1)[0][0]
