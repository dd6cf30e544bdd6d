"""Search over runs: a tree of states of one episode, grown by a policy, judged by a value function.

A node is a journal prefix plus an environment snapshot (`tree`); expanding it is stepping from that
snapshot, in the node's own journal scope, so the whole tree is one run that replays from its journal
and resumes after a crash without repeating a call (`engine`). The parts are small and swappable:
selectors (UCT with SWE-Search's terms, classic UCT, best-first, beam: `selectors`), policies
(`policy`), value functions (the environment's reward, or a value agent: `values`) and the final
discriminators (mean value, or a debate: `discriminators`).
"""

from .discriminators import Debate, Discriminator, MeanReward
from .engine import Limits, SearchResult, TreeSearch, best_found
from .policy import Policy, Proposal, TextPolicy
from .selectors import UCT, Beam, BestFirst, Selector
from .tree import Node, Reward, Tree
from .values import EnvReward, ValueAgent, ValueFunction

__all__ = ["UCT", "Beam", "BestFirst", "Debate", "Discriminator", "EnvReward", "Limits", "MeanReward", "Node",
           "Policy", "Proposal", "Reward", "SearchResult", "Selector", "TextPolicy", "Tree", "TreeSearch",
           "ValueAgent", "ValueFunction", "best_found"]
