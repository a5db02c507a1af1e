using AsymCdc.Coding;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Cli;

/// <summary>What <c>bench</c> and <c>demo --model</c> send: a served model of the repository and its test split (its
/// config.json <c>dataset</c>), read without opening a session.</summary>
public static class ServedData
{
    /// <summary>Throws <see cref="ArgumentException"/> naming an unknown model or one that declares no dataset.</summary>
    public static (CodedModel Model, LabeledSet Data) Resolve(string? repository, string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        var root = repository ?? ModelRepositoryLocator.Find();
        var served = ModelRepository.ReadServed(root);
        var found = served.FirstOrDefault(m => m.IsCalled(model))
            ?? throw new ArgumentException($"--model {model}: the repository serves no such model; it serves {string.Join(", ", served.Select(m => m.PublicName))}.");
        if (found.Dataset is not { } dataset)
        {
            throw new ArgumentException($"--model {model}: its config.json declares no \"dataset\" (fmnist, digits or a folder holding test.json) to send it.");
        }

        return (found, TestSets.Load(dataset, Path.GetFullPath(root)));
    }
}
