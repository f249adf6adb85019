"""``lstm_np.callbacks``: Keras' ``keras.callbacks`` spelling (the code lives in
:mod:`lstm_np.models.callbacks`)."""

from .models.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
)

__all__ = ["Callback", "EarlyStopping", "History", "LambdaCallback", "ModelCheckpoint",
           "ReduceLROnPlateau"]
