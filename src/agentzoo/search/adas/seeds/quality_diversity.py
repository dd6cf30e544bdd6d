def forward(self, task):
    # Quality-diversity: a first solution, then more attempts that each look for a different way to solve
    # the problem, then a final agent picks the best answer among them all.
    first_instruction = "Think the problem through step by step, then give your answer."
    diverse_instruction = "Look at the earlier attempts, then solve the problem again in a new and different way."
    final_instruction = "Weigh all of the solutions above carefully and give the final answer."
    solver = LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent")
    judge = LLMAgent(["thinking", "answer"], "Final Decision Agent", temperature=0.1)
    more_attempts = 3

    inputs = [task]
    thinking, answer = solver(inputs, first_instruction, 0)
    solutions = [thinking, answer]
    for i in range(more_attempts):
        inputs.extend([thinking, answer])
        thinking, answer = solver(inputs, diverse_instruction, i + 1)
        solutions.extend([thinking, answer])
    thinking, answer = judge([task] + solutions, final_instruction)
    return answer
