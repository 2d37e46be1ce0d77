"""Dataset readers: MNIST / Fashion-MNIST (IDX files, Keras cache, offline subset), image folders, and more.

Each reader lives in its own module; this package only re-exports their public names.
"""

from kerasnets.data.idx import IDXError, read_idx, write_idx
from kerasnets.data.mnist import CLASS_NAMES, Dataset, DatasetNotFoundError, load_dataset
from kerasnets.data.captions import CaptionDataset, CaptionFileError, load_captions, split_by_image
from kerasnets.data.voc import AnnotationError, ImageAnnotation, ObjectAnnotation, load_voc_dataset, read_coco_json, read_voc_xml
from kerasnets.data.image_folder import ImageFolderError, load_image_folder
from kerasnets.data.images import ImageFileError, load_image
