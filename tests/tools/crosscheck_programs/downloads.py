"""Loads IMDB, which Keras downloads when it is not cached."""
from keras.datasets import imdb

(x_train, y_train), _ = imdb.load_data(num_words=100)
print(len(x_train))
