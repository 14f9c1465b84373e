"""The safety screen: lexicons, the medspaCy detector and the Rasa NLU component that makes its decision final."""
