"""tau-bench's retail and airline customer-service domains, written anew for agentzoo.

    from agentzoo.envs.tau import load_domain, reward, ScriptedUser

    domain = load_domain("retail")                  # split="test"; or tasks_file=...
    task = domain.tasks[0]
    data = domain.fresh_data()                      # this episode's database (a plain dict)
    tools = domain.toolset(data)                    # = ToolSet(domain.tools(data), max_result_chars=100_000)
    ...                                             # the agent talks to ScriptedUser(task) or a model
    score = reward(task, data, messages_the_agent_sent_to_the_user)

The tools are plain functions over the explicit data dict (`retail.py`, `airline.py`), written
from each domain's policy (wiki.md) and tool schemas; their observations, the data hash and the
reward follow upstream tau-bench (github.com/sierra-research/tau-bench, commit 59a200c), and
golden_replay_*.jsonl checks every gold action's observation and the final hash. The data and
its provenance are in `agentzoo/envs/data/tau_bench/<domain>/` (SOURCE.txt).
"""

from .domain import (Action, Domain, Task, available_splits, call_tool, fresh_data, golden_replay, load_domain,
                     terminate_tools, tool_functions, write_tools)
from .scoring import RewardInfo, data_hash, gold_data_hash, output_found, reward, reward_info, to_hashable
from .tools import TauTool
from .user import STOP, ScriptedUser, UserSimulator

__all__ = ["STOP", "Action", "Domain", "RewardInfo", "ScriptedUser", "Task", "TauTool", "UserSimulator",
           "available_splits", "call_tool", "data_hash", "fresh_data", "gold_data_hash", "golden_replay",
           "load_domain", "output_found", "reward", "reward_info", "terminate_tools", "to_hashable",
           "tool_functions", "write_tools"]
