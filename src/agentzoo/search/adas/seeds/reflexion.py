def forward(self, task):
    # Self-refine: answer, have a critic review the answer, and revise with its feedback, up to 5 rounds.
    first_instruction = "Think the problem through step by step, then give your answer."
    revise_instruction = ("Read your earlier attempts and the feedback on them, work out where the latest attempt "
                          "may have gone wrong, and solve the problem again, better.")
    critic_instruction = ("Check the answer above and point out anything that may be wrong with it. "
                          "Only if you are certain it is right, put 'True' in 'correct'.")
    solver = LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent")
    critic = LLMAgent(["feedback", "correct"], "Critic Agent")
    max_rounds = 5

    inputs = [task]
    thinking, answer = solver(inputs, first_instruction, 0)
    for i in range(max_rounds):
        feedback, correct = critic([task, thinking, answer], critic_instruction, i)
        if correct.content.strip().lower() == "true":
            break
        # Everything so far goes into the next attempt: earlier reasoning, answers and feedback.
        inputs.extend([thinking, answer, feedback])
        thinking, answer = solver(inputs, revise_instruction, i + 1)
    return answer
