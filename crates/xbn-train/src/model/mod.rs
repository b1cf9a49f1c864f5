//! Backbones: the small default CNN and ResNet-50, behind one trait.
