def forward(self, task):
    # Step-back abstraction: first name the principles the problem rests on, then solve it with them.
    principle_instruction = ("Before solving, step back: what principles and concepts does this problem rest on? "
                             "Think it through step by step, then list them and explain each.")
    solve_instruction = "Using the problem and the principles behind it, think step by step, then give your answer."
    principle_agent = LLMAgent(["thinking", "principle"], "Principle Agent")
    solver = LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent")

    thinking, principle = principle_agent([task], principle_instruction)
    thinking, answer = solver([task, thinking, principle], solve_instruction)
    return answer
