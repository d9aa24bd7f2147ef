"""The code catalogue behind the portal's code picker: titles for UNSPSC and CPV codes, learnt
from the item descriptions agencies' notices carry beside each code and loaded by operators
from the licensed list they hold (`tw codes load`); no title is shipped with the project.

`domain` (the hierarchies, which title wins, searches, the CSV), `repository` (`code_titles`),
`services` (learning, loading, reading).
"""
