using AsymCdc.Coding.Evaluation;

namespace AsymCdc.Training;

/// <summary>One model <c>asymcdc train-decoders</c> exported into the repository.</summary>
/// <param name="Role">compact-decoder or parity-model.</param>
/// <param name="InputDims">Its declared input dims (batch axis −1).</param>
/// <param name="TrainAgreement">Argmax agreement with the model on the training groups in the last epoch (PyTorch).</param>
/// <param name="GoldenMaxAbsDiff">ONNX Runtime (C#) against the PyTorch outputs recorded in golden.json.</param>
public sealed record ExportedModel(
    string Name,
    string Role,
    int K,
    IReadOnlyList<long> InputDims,
    long Parameters,
    long Flops,
    double TrainSeconds,
    double? TrainAgreement,
    long OnnxBytes,
    float GoldenMaxAbsDiff);

/// <summary>What <see cref="DecoderTrainer.RunAsync"/> did and measured.</summary>
/// <param name="ClassifierInput">The classifier's input, e.g. <c>input [-1,1,28,28]</c>.</param>
/// <param name="LogitsOutput">Its logits output, e.g. <c>logits [-1,10]</c>.</param>
/// <param name="MemberOutput">The output the compact decoders read, e.g. <c>features [-1,128]</c>.</param>
/// <param name="Evaluation">Degraded-mode accuracy on the test split, measured with ONNX Runtime and the product's decoders.</param>
/// <param name="ModelCard">The model card written, or null.</param>
public sealed record DecoderTrainingResult(
    DecoderTrainingOptions Options,
    string Repository,
    string ClassifierInput,
    string LogitsOutput,
    string MemberOutput,
    bool LogitsOnly,
    string DataDescription,
    int TrainingExamples,
    int TestExamples,
    int GroupsPerK,
    string Torch,
    int Threads,
    IReadOnlyList<ExportedModel> Exports,
    DegradedModeReport Evaluation,
    TimeSpan TargetsTime,
    TimeSpan TrainingTime,
    TimeSpan EvaluationTime,
    string? ModelCard)
{
    public TimeSpan WallTime => TargetsTime + TrainingTime + EvaluationTime;
}
