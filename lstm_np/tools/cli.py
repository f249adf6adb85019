"""The ``lstm-np`` command line: ``demo`` (the main job), ``explain`` (shapes of a layer),
``inspect`` and ``verify`` (a saved Keras model, layer by layer against Keras).

    lstm-np demo [--out DIR] [--epochs N]
    lstm-np explain "LSTM(4, return_sequences=True)" --input-shape 32,3,1
    lstm-np inspect model.keras
    lstm-np verify model.keras --random 4 --tol 1e-5
"""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lstm-np")
def main():
    """lstm_np: a Keras-exact LSTM in NumPy and Numba, with the classic LSTM questions answered."""


@main.command()
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the forecast plot (created if missing).")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(min=1),
              help="Training epochs (the tutorial uses 100).")
@click.option("--seed", default=7, show_default=True, type=int,
              help="Seed of the weight initializers.")
@click.option("--engine", default=None, type=click.Choice(["numba", "numpy"]),
              help="LSTM engine (default: numba, the compiled one).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show the progress bar.")
def demo(out, epochs, seed, engine, progress):
    """Walk through samples / time steps / features and stateful batches on the airline
    passengers series, then train the classic stateful LSTM(4) (look_back 3, batch 1),
    print train and test RMSE in passengers and write the forecast PNG to --out."""
    from . import demo as demo_module

    demo_module.run(out=out, epochs=epochs, seed=seed, engine=engine, progress=progress,
                    echo=click.echo)


@main.command()
@click.argument("layer_spec")
@click.option("--input-shape", "input_shape", required=True,
              help="batch,timesteps,features, e.g. 32,3,1 (the batch may be None).")
def explain(layer_spec, input_shape):
    """Print the weight shapes, parameter count, output shapes and a diagram of which steps
    emit outputs for LAYER_SPEC, e.g. "LSTM(4, return_sequences=True)"."""
    from .explain import explain as explain_layer
    from .explain import parse_input_shape, parse_layer_spec

    try:
        shape = parse_input_shape(input_shape)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--input-shape") from None
    try:
        layer = parse_layer_spec(layer_spec)
        click.echo(explain_layer(layer, shape))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    main()


def _register_interop_commands() -> None:
    from .keras_check import inspect_command, verify_command

    main.add_command(inspect_command)
    main.add_command(verify_command)
    from .crosscheck.command import crosscheck_command

    main.add_command(crosscheck_command)


_register_interop_commands()
