"""The vocabulary of personas: the three types of the RPLA survey, HPD's 13 attribute types and its relations.

Sources:
- persona types: Chen et al. 2024, "From Persona to Personalization: A Survey on Role-Playing Language
  Agents" (PAPERS.md #2): demographic personas (a group's traits), character personas (a fixed figure,
  real or fictional) and individualized personas (one user, built up from their own data and turns);
- attributes and relations: Chen et al. 2022, "What would Harry say?" (PAPERS.md #1), as its dataset's README
  lists them (nuochenpku/Harry-Potter-Dialogue-Dataset:README.md, "Attributes and Relations").
"""

from __future__ import annotations

PERSONA_TYPES = ("demographic", "character", "individualized")
"""RPLA's taxonomy. Only an individualized persona is changed by conversation; the others are static."""

INBORN = ("Gender", "Age", "Lineage", "Talents", "Looks")
"""HPD: "innate attributes or abilities"."""
NURTURE = ("Achievement", "Title", "Belongings", "Export", "Hobby", "Character", "Spells", "Nickname")
"""HPD: "properties through acquired efforts or opportunities". `Export` is HPD's spelling (its README and data
use it for a character's field of expertise); we keep it so that HPD data loads as it is."""
ATTRIBUTE_TYPES = INBORN + NURTURE
"""The 13 attribute types of HPD, in its order: the fields of a character persona."""

BINARY_RELATIONS = ("Friend", "Classmate", "Teacher", "Family", "Lover", "Opponent", "Teammate", "Enemy")
"""HPD's 8 binary relations: true or false, from the persona towards another."""
SCORED_RELATIONS: dict[str, tuple[int, int]] = {"Familiarity": (0, 10), "Affection": (-10, 10)}
"""HPD's discrete relations and their ranges ("familiarity ranges from 0 to 10, and the affection ranges from -10
to 10"). HPD stores both directions per pair (Harry's to someone and someone's to Harry); a persona here holds its
own direction, and the other person's file holds theirs."""
NOTE = "Note"
"""Ours: a free-text line on the relation (e.g. "mentor who hid the bell from her"), for the prompt."""
RELATION_FIELDS = (*BINARY_RELATIONS, *SCORED_RELATIONS, NOTE)

DEFAULT_USER_FIELDS = ("Name", "Age", "Occupation", "Location", "Interests", "Preferences", "Goals", "Dislikes")
"""Ours: the profile slots of an individualized persona whose file lists none (the survey names no fixed set)."""
