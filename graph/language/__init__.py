"""Language understanding: one layer that reads customer text for the router, the brief and the bots.

Everything that interprets what a customer wrote (entities, dates, amounts, answers to the question
asked, cues such as a request for a person, with negation and scope) lives here, so a value the
customer gave is known the same way everywhere.
"""
