"""Team topologies as library code: each team is itself an agent, so teams nest and run anywhere.

Members run in child scopes of the journal (`team/role#i`), so cost, tokens and calls are
attributed per role, and parallel branches replay deterministically.
"""
