def forward(self, task):
    # Chain of thought: one call that reasons step by step before it answers.
    instruction = "Think the problem through step by step, then give your answer."
    # A 'thinking' field before 'answer' gives the model room to reason first.
    solver = LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent")
    thinking, answer = solver([task], instruction)
    return answer
