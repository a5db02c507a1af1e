using AsymCdc.Coding;

namespace AsymCdc.Inference;

/// <summary>
/// Groups a repository's models into the classifiers it serves: each classifier with the companions whose
/// <c>serves</c> names it. A companion whose classifier is not loaded is left out (a repository may load a subset);
/// anything that would make serving ambiguous — two companions of one role and k, an alias that is another model's
/// name, a compact decoder reading an output its classifier lacks — stops start-up with a message naming it.
/// </summary>
public static class CodedModels
{
    public const string LogitsOutputName = "logits";

    public static IReadOnlyList<CodedModel> From(IReadOnlyList<ModelConfig> configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var names = new HashSet<string>(configs.Select(c => c.Name), StringComparer.Ordinal);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<CodedModel>();
        foreach (var classifier in configs.Where(c => c.Role == ModelRole.Classifier).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            foreach (var alias in classifier.Aliases)
            {
                if (names.Contains(alias) || !aliases.TryAdd(alias, classifier.Name))
                {
                    throw Problem(classifier.Name, $"its alias '{alias}' is already the name of model '{(aliases.GetValueOrDefault(alias) ?? alias)}'");
                }
            }

            result.Add(Build(classifier, configs.Where(c => c.Serves == classifier.Name).ToList()));
        }

        return result;
    }

    private static CodedModel Build(ModelConfig classifier, List<ModelConfig> companions)
    {
        var outputs = classifier.Outputs.Select(o => o.Name).ToList();
        var logits = outputs.IndexOf(LogitsOutputName);
        string? inverse = null;
        string? featuresName = null;
        var compact = new Dictionary<int, string>();
        var parity = new Dictionary<int, string>();
        foreach (var companion in companions.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            switch (companion.Role)
            {
                case ModelRole.Inverse:
                    if (inverse is not null)
                    {
                        throw Problem(classifier.Name, $"it has two inverses, '{inverse}' and '{companion.Name}'");
                    }

                    inverse = companion.Name;
                    featuresName = Agree(classifier.Name, featuresName, companion.Input.Name, companion.Name);
                    break;
                case ModelRole.CompactDecoder:
                    if (!compact.TryAdd(companion.K!.Value, companion.Name))
                    {
                        throw Problem(classifier.Name, $"it has two compact decoders for k = {companion.K}, '{compact[companion.K.Value]}' and '{companion.Name}'");
                    }

                    featuresName = Agree(classifier.Name, featuresName, companion.ServesOutput ?? "features", companion.Name);
                    break;
                case ModelRole.ParityModel:
                    if (!parity.TryAdd(companion.K!.Value, companion.Name))
                    {
                        throw Problem(classifier.Name, $"it has two ParM parity models for k = {companion.K}, '{parity[companion.K.Value]}' and '{companion.Name}'");
                    }

                    if (companion.Input.ItemLength != classifier.Input.ItemLength)
                    {
                        throw Problem(classifier.Name, $"its parity model '{companion.Name}' takes {companion.Input.ItemLength} floats per item, the classifier {classifier.Input.ItemLength}");
                    }

                    break;
            }
        }

        int? features = null;
        if (featuresName is not null)
        {
            features = outputs.IndexOf(featuresName);
            if (features < 0)
            {
                throw Problem(classifier.Name, $"its decoders read output '{featuresName}', which it does not have (outputs: {string.Join(", ", outputs)})");
            }
        }

        return new CodedModel
        {
            Name = classifier.Name,
            Aliases = classifier.Aliases,
            InputName = classifier.Input.Name,
            InputShape = classifier.Input.Dims.Skip(1).Select(d => checked((int)d)).ToArray(),
            InputRange = classifier.Input.Range,
            Outputs = outputs,
            OutputLengths = classifier.Outputs.Select(o => o.ItemLength).ToArray(),
            LogitsOutput = logits < 0 ? 0 : logits,
            FeaturesOutput = features,
            Inverse = inverse,
            Compact = compact,
            Parity = parity,
            Agreements = companions.Where(c => c.Agreement is not null).ToDictionary(c => c.Name, c => c.Agreement!.Value, StringComparer.Ordinal),
            Dataset = classifier.Dataset,
        };
    }

    private static string Agree(string classifier, string? current, string next, string companion) =>
        current is null || current == next
            ? next
            : throw Problem(classifier, $"its decoders read different outputs ('{current}', and '{next}' for '{companion}'); they must read one");

    private static ModelRepositoryException Problem(string classifier, string why) =>
        new($"Model '{classifier}' cannot be served: {why}. Fix the models' config.json.", classifier);
}
