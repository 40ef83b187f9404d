"""Stage 4, the forecast: fit the customer models, simulate next year with and without each scheme.

The front door is `run(program, ledger, seed=..., draws=...)` → `ForecastOutput`. Inside:
``btyd`` fits the buy-till-you-die models (BG/NBD for purchase occasions, Gamma-Gamma for
spend); ``pipeline`` runs the stage (fit, customer sample, draws, evaluation, summaries);
``worlds`` says what a simulated world is made of; ``draws`` holds the random inputs of
the Monte Carlo; ``simulate`` is the compiled simulation with common random numbers;
``batch`` evaluates many (scheme, assumptions) jobs together; ``scenarios`` gives the
tornado and the break-even visit lift. docs/forecast.md explains the method.
"""

from punchcard.forecast.pipeline import ForecastOutput, run

__all__ = ["ForecastOutput", "run"]
