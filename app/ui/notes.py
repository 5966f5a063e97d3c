"""Plain-language notes shown beside the controls: what each choice does, and what the study
notebook found about it. Short on purpose: a sentence or two a teacher can read aloud."""

ACTIVATION = {
    "relu": "ReLU passes positive inputs unchanged and zeroes the rest. Fast and the usual default, but a "
            "unit whose input stays negative stops learning for good (a \"dying ReLU\").",
    "elu": "ELU is like ReLU for positive inputs but curves smoothly to -1 below zero, so units never go "
           "completely silent. Notebook: without batch norm, ELU was the worst of the four ReLU/ELU "
           "combinations; with batch norm it was the best.",
    "leaky_relu": "Leaky ReLU lets a small slope (0.2) through for negative inputs, so no unit dies.",
    "selu": "SELU is a scaled ELU that keeps activations near zero mean and unit variance on its own "
            "(with LeCun initialisation), a kind of built-in normalization.",
    "tanh": "tanh squashes inputs into (-1, 1). Its gradient vanishes for large inputs, so deep stacks "
            "learn slowly.",
    "sigmoid": "The sigmoid squashes inputs into (0, 1); historically popular, but its gradients vanish "
               "even faster than tanh's.",
    "gelu": "GELU weights each input by how likely it is to be positive: a smooth ReLU used in transformers.",
}

BATCH_NORM = ("Batch normalization re-centres and re-scales each layer's inputs over the mini-batch, "
              "which keeps gradients healthy and allows faster learning. Notebook: BN with ELU was "
              "\"trained\" after about 20 epochs, but each epoch cost about twice as long.")

PCA = ("PCA compresses the 784 pixels to the directions in which the images vary most; 154 of them "
       "keep 95% of the variance. The first layer gets much smaller, so training is faster. Notebook: "
       "little accuracy was lost, but fitting the PCA (which it never timed; we do) eats the gain on "
       "small networks.")

OPTIMIZER = {
    "sgd": "Plain stochastic gradient descent: each step moves the weights a little down the gradient "
           "of one mini-batch. The notebook's choice.",
    "momentum": "Momentum keeps a running velocity (0.9), so consistent gradients add up and noisy "
                "ones cancel out.",
    "nesterov": "Nesterov momentum looks one step ahead along the velocity before taking the gradient, "
                "which damps overshooting. The notebook recommends it over the adaptive optimizers.",
    "adagrad": "Adagrad gives each weight its own step size, shrinking it for weights with large past "
               "gradients. Steps can shrink too much over time.",
    "rmsprop": "RMSprop is Adagrad with a memory that fades, so step sizes do not shrink forever.",
    "adam": "Adam combines momentum with RMSprop's per-weight step sizes. Adaptive optimizers usually "
            "want a smaller learning rate (try 0.001).",
}

LEARNING_RATE = ("The step size. Too small and learning crawls; too large and the loss explodes "
                 "(the run stops as \"diverged\").")

MISSING_DATA = """
**How to provide it**, on the machine that runs this app, then restart it:

1. **A local file or folder**: set the environment variable `{env}` to a Keras-layout `.npz` file
   or to a folder holding the four IDX files (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
   `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`, gzipped or not), for example
   `{env}=/path/to/mnist.npz make app`.
2. **The Keras cache**: put `mnist.npz` in `~/.keras/datasets/`.
3. **Internet**: with a connection, Keras downloads MNIST by itself the first time.
"""

REGULARISATION = ("Regularisation fights overfitting (train accuracy far above validation/test): dropout "
                  "silences random units so none can rely on another; L1/L2 penalties pull weights towards "
                  "zero (L1 makes many exactly zero); max-norm caps each unit's incoming weights. Clipping "
                  "the gradient's norm guards against one huge step, not overfitting.")

SCHEDULE = {
    "constant": "The learning rate stays the same for the whole run, as in the notebook.",
    "exponential": "The rate shrinks smoothly: times the decay factor every 'decay every' epochs.",
    "step": "The rate drops in steps: times the decay factor every 'decay every' epochs.",
    "cosine": "The rate follows half a cosine wave from its value down to 0 at the last step: big steps "
              "first, fine ones at the end.",
    "one_cycle": "1cycle: the rate climbs from a 25th of its value to the full rate over the first 30% of "
                 "the steps, then falls along a cosine to almost 0. Often reaches good accuracy in few epochs.",
    "plateau": "The rate is cut by the decay factor whenever the validation loss has not improved for "
               "'decay every' epochs: the schedule reacts to the run, so it is drawn flat in advance.",
}
