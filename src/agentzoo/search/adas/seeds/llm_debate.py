def forward(self, task):
    # Debate: three agents with different roles answer, then each revises after reading the others'
    # reasoning; after two rounds a final agent decides.
    first_instruction = "Think the problem through step by step, then give your answer."
    debate_instruction = ("Here is how other agents reasoned about the problem. Treat their views as advice, "
                          "think again carefully and give your updated answer.")
    final_instruction = "Weigh all of the reasoning and answers above carefully and give the final answer."
    roles = ["Math Professor", "Grade School Teacher", "Math Enthusiast"]
    debaters = [LLMAgent(["thinking", "answer"], "Debate Agent", role=role, temperature=0.8) for role in roles]
    judge = LLMAgent(["thinking", "answer"], "Final Decision Agent", temperature=0.1)
    rounds = 2

    thinkings = [[] for _ in range(rounds)]
    answers = [[] for _ in range(rounds)]
    for r in range(rounds):
        for i, debater in enumerate(debaters):
            if r == 0:
                thinking, answer = debater([task], first_instruction)
            else:
                # Its own reasoning from the last round first, then everyone else's.
                previous = thinkings[r - 1]
                others = previous[:i] + previous[i + 1:]
                thinking, answer = debater([task, previous[i]] + others, debate_instruction)
            thinkings[r].append(thinking)
            answers[r].append(answer)
    thinking, answer = judge([task] + thinkings[-1] + answers[-1], final_instruction)
    return answer
