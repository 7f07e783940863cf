"""Datasets: embedded defaults (no download), loaders for users' files, and the MNIST downloader."""
from genviz.data.images import DataError, ImageDataset, validate_images
from genviz.data.loaders import load_dataset

__all__ = ["DataError", "ImageDataset", "validate_images", "load_dataset"]
