"""scikit-learn's parameter conventions, without scikit-learn's base class.

An estimator's hyperparameters are the arguments of its ``__init__``, stored unchanged under
the same names; learned state ends with ``_``. ``get_params``, ``set_params`` and ``clone``
follow from that, so no class lists its parameters twice. (``sklearn.base.BaseEstimator``
would also do this, but it adds metadata routing, tags and a pickle hook that these
estimators do not need.)
"""

import copy
import inspect


class Estimator:
    """``get_params`` / ``set_params`` / ``clone`` derived from ``__init__``'s signature."""

    @classmethod
    def param_names(cls):
        """The ``__init__`` argument names, in signature order."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [parameter.name for parameter in parameters if parameter.name != "self"
                and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]

    def get_params(self, deep=True):
        """Hyperparameters by name, for metadata and cloning.

        With ``deep``, a parameter that is itself an estimator (a hybrid's ``head``) adds its
        own as ``<name>__<parameter>``, as scikit-learn does.
        """
        params = {name: getattr(self, name) for name in self.param_names()}
        if deep:
            for name, value in list(params.items()):
                if isinstance(value, Estimator):
                    params.update((f"{name}__{key}", nested) for key, nested
                                  in value.get_params().items())
        return params

    def set_params(self, **params):
        """Change hyperparameters (``head__n_estimators=...`` reaches into ``head``);
        returns self. An unknown name raises ValueError listing the valid ones."""
        valid = self.param_names()
        nested = {}
        for key, value in params.items():
            name, _, nested_key = key.partition("__")
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"valid: {', '.join(valid)}")
            if nested_key:
                nested.setdefault(name, {})[nested_key] = value
            else:
                setattr(self, name, value)
        for name, nested_params in nested.items():
            getattr(self, name).set_params(**nested_params)
        return self

    def clone(self):
        """An unfitted copy with the same hyperparameters (deep-copied, nothing learned)."""
        return type(self)(**copy.deepcopy(self.get_params(deep=False)))
