"""A small Overcooked-style kitchen in text: two cooks make onion soup together (`kitchen`).

Written for the project after Overcooked-AI (Carroll et al. 2019, "On the Utility of Learning about Humans
for Human-AI Coordination"), the world ProAgent (#20) cooperates in, cut down to what a text agent can play:

- A layout is a grid (`layouts.yaml`: counters X, pots P, onion and dish dispensers O and D, a serving
  counter S, floor); three ship (`galley`, `ring`, `split`), after Overcooked's cramped room, coordination
  ring and asymmetric advantages.
- Two cooks: the agent (player 0) and a scripted teammate (player 1; `policies`: `greedy` does the whole
  cycle, `onions` only fetches onions), each holding at most one item.
- A soup: 3 onions in a pot, which then cooks for `cook_time` steps (Overcooked's 20 unless a task says
  otherwise), is put in a dish and delivered at the serving counter for 20 points (Overcooked's reward).
- Each step the agent says one low-level action (`up`, `down`, `left`, `right`, `stay`, `interact`) and the
  teammate acts at the same time (`world` has the rules, collisions included). A word that is no action is
  a parse error (`info["parse_error"]`): the agent's cook stays and the clock moves on.
- The observation is text (a map with both cooks, what each holds and faces, the pots, the counters, what
  each cook did last step) and the state as JSON in `Observation.data` (`layout`, `state`, `goal`, …), for
  agents that plan on it (ProAgent's controller).
- The episode ends at the task's horizon or when the goal is reached. **Success: the team delivers the
  task's goal of soups within the horizon; reward: soups delivered / goal, at most 1.** On every shipped
  task the teammate alone delivers fewer (the scorer reports `teammate_alone`), and the oracle reaches it.
- Seeded and deterministic: the teammate's pauses are drawn from a hash of the task's seed and the step, so
  the snapshot (the `State` as JSON) is the whole state. The oracle plays the greedy rule for the agent's
  cook with the motion planner (`planning`, breadth-first search over poses); its actions are the gold.
"""

from .env import Game, Kitchen, KitchenEpisode, KitchenTask, describe, oracle_actions, teammate_alone
from .planning import goal_poses, make_way, next_move, reachable, shortest_path, skill_targets
from .policies import TEAMMATES, greedy_skill, onions_skill
from .world import (ACTIONS, COOK_TIME, DIRECTIONS, ONIONS_PER_SOUP, SOUP_REWARD, Cook, Layout, Pot, State,
                    advance)

__all__ = ["ACTIONS", "COOK_TIME", "DIRECTIONS", "ONIONS_PER_SOUP", "SOUP_REWARD", "TEAMMATES", "Cook", "Game",
           "Kitchen", "KitchenEpisode", "KitchenTask", "Layout", "Pot", "State", "advance", "describe",
           "goal_poses", "greedy_skill", "make_way", "next_move", "onions_skill", "oracle_actions", "reachable",
           "shortest_path", "skill_targets", "teammate_alone"]
