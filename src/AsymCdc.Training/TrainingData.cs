using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Training;

/// <summary>The data a user's decoders are trained and measured on: a training split (the targets come from the model's
/// outputs on it) and a test split (degraded accuracy), of one item shape.</summary>
/// <param name="Name">As given to <c>--data</c>.</param>
/// <param name="Description">Where it came from, for the model card.</param>
public sealed record TrainingData(string Name, LabeledSet Train, LabeledSet Test, string Description)
{
    public const string FashionMnistName = "fmnist";
    public const string DigitsName = "digits";

    /// <summary>The folder, under a model repository, that holds the digits split.</summary>
    public static readonly string DigitsFolder = TestSets.DigitsFolder;

    public const string TrainHeader = "train.json";
    public const string TestHeader = "test.json";

    /// <summary>
    /// <c>fmnist</c>: Debian's Fashion-MNIST training set and the test set shipped in <c>models/data</c>; <c>digits</c>:
    /// <c>&lt;repository&gt;/data/digits</c> (written by <c>models/train-user-models.sh</c>); anything else: a folder holding
    /// <c>train.json</c> and <c>test.json</c> in the tensor-dataset format. Throws <see cref="DecoderTrainingException"/>
    /// naming what is missing, unreadable or empty.
    /// </summary>
    public static TrainingData Resolve(string data, string repository)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(repository);
        TrainingData result;
        try
        {
            result = data switch
            {
                FashionMnistName => FashionMnistData(),
                DigitsName => FromFolder(DigitsName, TestSets.FindDigits(repository),
                    "scikit-learn's bundled 8×8 digits (load_digits), split by models/train-user-models.sh"),
                _ => FromFolder(data, data, null),
            };
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException or IOException)
        {
            throw new DecoderTrainingException($"--data {data}: {e.Message}", e);
        }

        foreach (var split in new[] { result.Train, result.Test })
        {
            if (split.Count == 0)
            {
                throw new DecoderTrainingException(
                    $"--data {data}: the {(split == result.Train ? "training" : "test")} split '{split.Name}' holds no examples; the decoders need data to learn from and to be measured on.");
            }
        }

        if (!result.Train.ItemShape.SequenceEqual(result.Test.ItemShape))
        {
            throw new DecoderTrainingException(
                $"--data {data}: the training items have shape [{string.Join(',', result.Train.ItemShape)}] but the test items [{string.Join(',', result.Test.ItemShape)}]; both splits must have the model's input shape.");
        }

        return result;
    }

    private static TrainingData FashionMnistData()
    {
        var train = FashionMnist.LoadTrainingSet();
        var test = FashionMnist.LoadTestSet();
        var shipped = test.Directory.Replace('\\', '/').TrimEnd('/').EndsWith($"{ModelRepositoryLocator.FolderName}/data", StringComparison.Ordinal);
        return new TrainingData(FashionMnistName, LabeledSet.From(train, "fmnist/train"), LabeledSet.From(test, "fmnist/test"),
            $"Fashion-MNIST: the training images of Debian's dataset-fashion-mnist and the test images of {(shipped ? "models/data" : test.Directory)}");
    }

    private static TrainingData FromFolder(string name, string folder, string? description)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException(
                $"'{folder}' is neither fmnist, digits nor a folder; pass a folder holding {TrainHeader} and {TestHeader} (models/data/README.md describes the format).");
        }

        var train = TensorDataset.Load(Path.Combine(folder, TrainHeader));
        var test = TensorDataset.Load(Path.Combine(folder, TestHeader));
        return new TrainingData(name, train, test,
            description ?? $"{train.Source} ({train.Count} training and {test.Count} test examples)");
    }
}
