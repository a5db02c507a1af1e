using AsymCdc.Coding;

namespace AsymCdc.Grains;

/// <summary>The grains' view of the model repository: a name to a model function. The hosting layer adapts the
/// inference layer's repository to it, so grains never see ONNX.</summary>
public interface IModelCatalog
{
    /// <summary>The model called <paramref name="name"/>; throws naming the model when it is not deployed.</summary>
    IModelFunction Get(string name);

    /// <summary>True where the repository has a model called <paramref name="name"/>.</summary>
    bool Contains(string name);
}

/// <summary>Repository names of the models the grains run (docs/ARCHITECTURE.md, "Model repository").</summary>
public static class ServingModels
{
    public const string Classifier = "fmnist-inn";
    public const string Inverse = "fmnist-inn-inverse";

    public static string Compact(int k) => $"fmnist-compact-k{k}";

    public static string Parm(int k) => $"fmnist-parm-k{k}";
}
