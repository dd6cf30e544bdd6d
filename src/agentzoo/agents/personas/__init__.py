"""Personas: who an agent plays or serves, as checked data with time-varying attributes (PAPERS.md #1 HPD, #2 RPLA).

    from agentzoo.agents.personas import PersonaLibrary
    wren = PersonaLibrary().get("wren-halloway")     # a shipped character persona
    wren.at(2).attributes["Title"]                   # 'Lamp-apprentice': the value valid at chapter 2
    wren.at(4).attributes["Title"]                   # 'Junior Keeper of the North Light'

- three persona types (RPLA): `demographic` (values from a population template, `population`), `character`
  (a fixed profile with HPD's 13 attribute types; never changed by conversation) and `individualized` (a user
  profile that `profile.ProfileKeeper` updates from the user's turns, each stored in a `MemoryStream`);
- every attribute and relation field is a `Timeline` of values each valid from a storyline point on;
  `persona.at(k)` views the values valid at `k`, never later ones (HPD);
- persona files are YAML or JSON, checked when read (`loading`), errors naming the file and the field.
The `persona` recipe (`agentzoo.recipes.persona`) is the agent that plays them.
"""

from .loading import SHIPPED, PersonaLibrary, load_persona, persona_from_data
from .persona import Persona, PersonaView, RelationView, resolve_point
from .population import PopulationTemplate, find_template, load_template, sample_population
from .profile import ProfileKeeper, ProfileUpdate
from .schema import ATTRIBUTE_TYPES, BINARY_RELATIONS, PERSONA_TYPES, RELATION_FIELDS, SCORED_RELATIONS
from .timeline import LATEST, START, Timed, Timeline

__all__ = ["ATTRIBUTE_TYPES", "BINARY_RELATIONS", "LATEST", "PERSONA_TYPES", "RELATION_FIELDS", "SCORED_RELATIONS",
           "SHIPPED", "START", "Persona", "PersonaLibrary", "PersonaView", "PopulationTemplate", "ProfileKeeper",
           "ProfileUpdate", "RelationView", "Timed", "Timeline", "find_template", "load_persona", "load_template",
           "persona_from_data", "resolve_point", "sample_population"]
