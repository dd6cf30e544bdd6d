def forward(self, task):
    # Dynamic role assignment: a router chooses which expert should answer, and that expert answers.
    solve_instruction = "Think the problem through step by step, then give your answer."
    route_instruction = ("Which expert should answer this question? Choose one of: Math Professor, "
                         "Grade School Teacher, Math Enthusiast.")
    roles = ["Math Professor", "Grade School Teacher", "Math Enthusiast", "Helpful Assistant"]
    experts = [LLMAgent(["thinking", "answer"], "Expert Agent", role=role) for role in roles]
    router = LLMAgent(["choice"], "Routing Agent")

    choice = router([task], route_instruction)["choice"].content.lower()
    if "professor" in choice:
        expert = experts[0]
    elif "teacher" in choice:
        expert = experts[1]
    elif "enthusiast" in choice:
        expert = experts[2]
    else:
        expert = experts[3]  # no clear choice: a helpful assistant answers
    thinking, answer = expert([task], solve_instruction)
    return answer
